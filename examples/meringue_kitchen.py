"""Concurrency lets one cook use the waiting time; parallelism needs more cooks.

A dessert recipe has working steps (whisking, whipping, cutting: CPU work in
pure Python) and one waiting step (baking: a sleep). The script cooks it four
ways and records when every step starts and ends:

* sequentially, one step after another;
* concurrently on one thread with asyncio: while the meringue bakes, the same
  cook whips the cream and cuts the fruit;
* with threads, one per branch of the recipe: with the GIL their working steps
  take turns, so they overlap in time without finishing sooner;
* with processes, one per branch: working steps really run at the same time,
  up to the number of cores.

Run it::

    python meringue_kitchen.py            # a few seconds
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
MERINGUE = [("whisk eggs", "work", 1.0), ("whisk in sugar", "work", 1.0), ("bake", "wait", 3.0)]
CREAM = [("whip cream", "work", 1.0)]
FRUIT = [("cut fruit", "work", 1.0)]
BRANCHES = [MERINGUE, CREAM, FRUIT]
FIRST = ("get ingredients", "work", 0.5)
LAST = ("assemble", "work", 0.5)

Step = tuple[str, str, float]


def count_down(n: int) -> None:
    while n > 0:
        n -= 1


def size_work(seconds: float) -> int:
    """Loop iterations that take about `seconds` with this interpreter."""
    iterations = 10_000
    while True:
        start = time.perf_counter()
        count_down(iterations)
        elapsed = time.perf_counter() - start
        if elapsed > 0.02:
            return int(iterations * seconds / elapsed)
        iterations *= 4


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


def measure(unit: float, repeats: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Cook every way `repeats` times; keep the step log of each way's last run."""
    work = size_work(unit)
    with ThreadPoolExecutor(3, "thread") as threads, ProcessPoolExecutor(3) as processes:
        ways: dict[str, tuple[str, Callable[[], list[dict[str, Any]]]]] = {
            "sequential": ("sequential", lambda: cook_sequentially(unit, work)),
            "asyncio": ("asyncio, one thread", lambda: cook_with_asyncio(unit, work)),
            "threads": ("3 threads", lambda: cook_with_pool(threads, unit, work)),
            "processes": ("3 processes", lambda: cook_with_pool(processes, unit, work)),
        }
        list(processes.map(count_down, [1000] * 3))  # start the worker processes
        timings, timelines = [], {}
        for name, (label, cook) in ways.items():
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                log = cook()
                seconds.append(time.perf_counter() - start)
            timelines[name] = [
                {**e, "start": e["start"] - start, "end": e["end"] - start} for e in log
            ]
            timings.append({"variant": name, "label": label, "seconds": seconds,
                            "median": statistics.median(seconds), "min": min(seconds),
                            "max": max(seconds)})  # fmt: skip
    return timings, timelines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (about a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--repeats", type=int, help="times to cook each way")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.repeats = args.repeats or (2 if args.quick else 3)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    unit = 0.015 if args.quick else 0.06  # seconds for one unit of a step
    timings, timelines = measure(unit, args.repeats)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "meringue_kitchen",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {"unit_seconds": unit, "repeats": args.repeats, "quick": args.quick},
            "baseline": "sequential",
            "timings": timings,
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
