"""Concurrency lets one cook use the waiting time; parallelism needs more cooks.

A dessert recipe has working steps (whisking, whipping, cutting: CPU work in
pure Python) and one waiting step (baking: a sleep). The script cooks it four
ways and records when every step starts and ends:

* sequentially, one step after another;
* concurrently on one thread with asyncio: while the meringue bakes, the same
  cook whips the cream, then cuts the fruit;
* with threads, one per branch of the recipe: with the GIL their working steps
  take turns, so they overlap in time without finishing sooner;
* with processes, one per branch: working steps really run at the same time,
  as far as the machine's cores allow.

Each round cooks every way once and measures how many cores' worth of Python
code the machine ran at once (its capacity). From that capacity the script
works out the best speedup three cooks could reach, so that a parallel way is
judged against what the machine really gave it.

Run it::

    python meringue_kitchen.py            # about 15 seconds on 2 cores
    python meringue_kitchen.py --quick    # about a second
    python meringue_kitchen.py --json     # timings and every step's start and end

Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import statistics
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Callable

CLAIM = (
    "Concurrency overlaps waiting with working on one thread; only parallel workers "
    "(processes, or threads without the GIL) overlap working with working."
)

# A step: (name, kind, share of the unit of time). Work is CPU, wait is sleeping.
MERINGUE = [("whisk eggs", "work", 1.0), ("whisk in sugar", "work", 1.0), ("bake", "wait", 2.0)]
CREAM = [("whip cream", "work", 2.0)]
FRUIT = [("cut fruit", "work", 2.0)]
BRANCHES = [MERINGUE, CREAM, FRUIT]
FIRST = ("get ingredients", "work", 0.5)
LAST = ("assemble", "work", 0.5)

Step = tuple[str, str, float]


def count_down(n: int) -> None:
    while n > 0:
        n -= 1


def size_work(seconds: float) -> int:
    """Loop iterations that take about `seconds` with this interpreter.

    The fastest of ten timings spread over a third of a second is used: a busy
    machine can only slow a timing down, for a moment or for a while, and a
    slowed one would make every working step too short beside the baking.
    """
    iterations = 10_000
    while timed(count_down, iterations) < 0.02:
        iterations *= 4
    elapsed = []
    for _ in range(10):
        elapsed.append(timed(count_down, iterations))
        time.sleep(0.01)
    return int(iterations * seconds / min(elapsed))


def timed(job: Callable[..., Any], *args: Any) -> float:
    start = time.perf_counter()
    job(*args)
    return time.perf_counter() - start


def usable_cores() -> int:
    """The cores this process may run on (fewer than the machine has, in a container)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        return os.cpu_count() or 1


def measure_capacity(pool: Executor, work: int, cores: int) -> float:
    """How many cores' worth of Python code the machine ran at once, just now.

    One process runs a unit of work alone, then `cores` processes run one each
    at the same time; with every core free, both take as long.
    """
    one = timed(lambda: pool.submit(count_down, work).result())
    return cores * one / timed(lambda: list(pool.map(count_down, [work] * cores)))


def ideal_speedup(capacity: float) -> float:
    """How much faster one cook per branch can be than one cook, on a machine that runs
    `capacity` cores' worth of work at once: the meringue, which must bake after its
    whisking, gets a core first, and the other cooks at work share the rest evenly."""
    # What is left of each branch: (is it work?, units left) for each step.
    branches = [[(kind == "work", share) for _, kind, share in b] for b in BRANCHES]
    clock = 0.0
    while any(branches):
        working = [bool(b) and b[0][0] for b in branches]
        first = min(1.0, capacity) if working[0] else 0.0  # the meringue's branch
        others = sum(working[1:])
        each = min(1.0, (capacity - first) / others) if others else 0.0
        speeds = [first] + [each if w else 0.0 for w in working[1:]]
        speeds = [v if w else 1.0 for v, w in zip(speeds, working)]  # waiting runs at 1
        # Advance to the moment the first current step of any branch ends.
        step = min(b[0][1] / v for b, v in zip(branches, speeds) if b and v > 0)
        clock += step
        for b, v in zip(branches, speeds):
            if b:
                left = b[0][1] - step * v
                b[0:1] = [(b[0][0], left)] if left > 1e-9 else []
    total = FIRST[2] + LAST[2] + sum(share for b in BRANCHES for _, _, share in b)
    return total / (FIRST[2] + clock + LAST[2])


def do_step(step: Step, unit: float, work_per_unit: int) -> dict[str, Any]:
    """Carry out one step in the current thread; say who did it and when.

    perf_counter reads a system-wide monotonic clock on Linux, macOS and Windows,
    so times taken in different processes can be compared.
    """
    name, kind, share = step
    start = time.perf_counter()
    if kind == "work":
        count_down(int(work_per_unit * share))
    else:
        time.sleep(unit * share)
    return {"step": name, "kind": kind, "worker": worker_name(), "start": start,
            "end": time.perf_counter()}  # fmt: skip


def worker_name() -> str:
    """Who is carrying out a step: the main thread, a thread, or a process."""
    if multiprocessing.parent_process() is not None:
        return f"process {os.getpid()}"
    if threading.current_thread() is not threading.main_thread():
        return threading.current_thread().name
    return "main thread"


def do_branch(steps: list[Step], unit: float, work_per_unit: int) -> list[dict[str, Any]]:
    return [do_step(step, unit, work_per_unit) for step in steps]


def cook_sequentially(unit: float, work: int) -> list[dict[str, Any]]:
    log = [do_step(FIRST, unit, work)]
    for branch in BRANCHES:
        log += do_branch(branch, unit, work)
    return [*log, do_step(LAST, unit, work)]


def cook_with_asyncio(unit: float, work: int) -> list[dict[str, Any]]:
    """One thread, one event loop: waiting steps await, working steps block the loop."""

    async def branch(steps: list[Step]) -> list[dict[str, Any]]:
        log = []
        for name, kind, share in steps:
            if kind == "wait":
                start = time.perf_counter()
                await asyncio.sleep(unit * share)
                log.append({"step": name, "kind": kind, "worker": "timer (awaited)",
                            "start": start, "end": time.perf_counter()})  # fmt: skip
            else:  # a working step blocks the loop: no other branch runs meanwhile
                log.append({**do_step((name, kind, share), unit, work), "worker": "event loop"})
        return log

    async def recipe() -> list[dict[str, Any]]:
        log = [{**do_step(FIRST, unit, work), "worker": "event loop"}]
        for part in await asyncio.gather(*(branch(b) for b in BRANCHES)):
            log += part
        return [*log, {**do_step(LAST, unit, work), "worker": "event loop"}]

    return asyncio.run(recipe())


def cook_with_pool(pool: Executor, unit: float, work: int) -> list[dict[str, Any]]:
    """One worker per branch of the recipe; the main thread does the first and last steps."""
    log = [do_step(FIRST, unit, work)]
    for part in pool.map(do_branch, BRANCHES, [unit] * 3, [work] * 3):
        log += part
    return [*log, do_step(LAST, unit, work)]


def measure(unit: float, repeats: int) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    """Cook every way once per round, `repeats` rounds, measuring the machine's capacity
    in each; keep the step log of each way's last run."""
    work, cores = size_work(unit), usable_cores()
    # One pool of processes cooks and measures the capacity. It starts all its workers
    # now, while the main thread is the only thread: forking a process that runs
    # threads can deadlock the child (and warns since Python 3.12).
    processes = ProcessPoolExecutor(max(3, cores))
    list(processes.map(count_down, [1000] * max(3, cores)))
    with processes, ThreadPoolExecutor(3, "thread") as threads:
        ways: dict[str, tuple[str, Callable[[], list[dict[str, Any]]]]] = {
            "sequential": ("sequential", lambda: cook_sequentially(unit, work)),
            "asyncio": ("asyncio, one thread", lambda: cook_with_asyncio(unit, work)),
            "threads": ("3 threads", lambda: cook_with_pool(threads, unit, work)),
            "processes": ("3 processes", lambda: cook_with_pool(processes, unit, work)),
        }
        seconds: dict[str, list[float]] = {name: [] for name in ways}
        capacity, logs = [], {}
        for _ in range(repeats):
            for name, (_, cook) in ways.items():
                start = time.perf_counter()
                log = cook()
                seconds[name].append(time.perf_counter() - start)
                logs[name] = [{**e, "start": e["start"] - start, "end": e["end"] - start}
                              for e in log]  # fmt: skip
            capacity.append(measure_capacity(processes, work, cores))
    timings = []
    for name, (label, _) in ways.items():
        row = {"variant": name, "label": label, "workers": 1 if name in ("sequential", "asyncio") else 3,
               "seconds": seconds[name], "median": statistics.median(seconds[name]),
               "min": min(seconds[name]), "max": max(seconds[name])}  # fmt: skip
        if name in ("threads", "processes"):  # the best the machine's capacity allows
            row["ideal"] = [ideal_speedup(c) for c in capacity]
        timings.append(row)
    spread = {"median": statistics.median(capacity), "min": min(capacity), "max": max(capacity)}
    best = statistics.median(ideal_speedup(c) for c in capacity)
    return timings, logs, {"cores": cores, "seconds": capacity, **spread, "best_speedup": best}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (about a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--repeats", type=int, help="times to cook each way")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    # Enough rounds that the median moves little when the machine's speed does.
    args.repeats = args.repeats or (3 if args.quick else 45)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    unit = 0.005 if args.quick else 0.01  # seconds for one unit of a step
    timings, timelines, capacity = measure(unit, args.repeats)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "meringue_kitchen",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {"unit_seconds": unit, "repeats": args.repeats, "quick": args.quick},
            "baseline": "sequential",
            "interleaved": True,  # the i-th time of every way comes from round i
            "timings": timings,
            "capacity": capacity,
            "timelines": timelines,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}), {os.cpu_count()} cores")
    for row in timings:
        name = row["variant"]
        print(f"\n{row['label']}: {row['median']:.3f} s (median of {args.repeats})")
        for entry in timelines[name]:
            print(f"  {entry['start']:6.3f} to {entry['end']:6.3f} s  "
                  f"{entry['worker']:<24} {entry['step']}")  # fmt: skip


if __name__ == "__main__":
    main()
