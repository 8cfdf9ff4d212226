"""Every tool overlaps waiting; pure-Python CPU work runs in parallel only in
several interpreters (processes, an interpreter pool) or without the GIL.

Two jobs of equal size, split into the same small tasks: in one each task
counts down in a plain Python loop (CPU-bound); in the other it waits, with
time.sleep, or asyncio.sleep in a coroutine (I/O-bound, simulated: no network
needed). Each job runs sequentially, then with every tool in the standard
library: a thread pool, a process pool, coroutines on an asyncio event loop
and, from Python 3.14, an interpreter pool (InterpreterPoolExecutor), with at
most 1, 2 and 4 tasks under way at once. On a free-threaded build (3.13t and
later) the thread rows run without the GIL. Every round also measures how many
cores' worth of Python code the machine ran at once (its capacity).

One pool per tool is created, and warmed up by an untimed run, before the
clock starts: the timings compare running tasks, not starting workers.

Run it::

    python every_tool.py            # about 4 seconds on 2 cores
    python every_tool.py --quick    # about a second
    python every_tool.py --json     # machine-readable results
    python every_tool.py --workers 1 2 4 8 --tasks 16 --task-ms 5 --repeats 15

Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from concurrent import futures
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial
from typing import Any, Callable

CLAIM = (
    "Every tool overlaps waiting, even with fewer cores than workers; pure-Python CPU "
    "work runs in parallel only with processes, interpreters that each have a GIL of "
    "their own (3.14 and later), or threads on a free-threaded build."
)
WORKLOADS = {"cpu": "CPU-bound", "io": "I/O-bound"}


def count_down(n: int) -> int:
    """One CPU-bound task: a pure-Python loop that never blocks or does I/O."""
    while n > 0:
        n -= 1
    return n


def wait(seconds: float) -> float:
    """One I/O-bound task, simulated: the thread sleeps, as it would waiting for a reply."""
    time.sleep(seconds)
    return seconds


async def count_down_task(n: int, gate: asyncio.Semaphore) -> None:
    """A coroutine that never awaits inside its loop: it holds the event loop until done."""
    async with gate:
        count_down(n)


async def wait_task(seconds: float, gate: asyncio.Semaphore) -> None:
    """A coroutine that waits as coroutines do, giving the event loop back meanwhile."""
    async with gate:
        await asyncio.sleep(seconds)


def warm_up() -> None:
    """Run the loop untimed, in every interpreter that will be timed, so that none
    pays for specialising it (or, on PyPy, compiling it) on the clock."""
    for _ in range(20):
        count_down(1_000)


def interpreter_pool() -> tuple[Any, str]:
    """InterpreterPoolExecutor where this Python has it (3.14 and later), else why not."""
    pool = getattr(futures, "InterpreterPoolExecutor", None)
    if pool is not None:
        return pool, ""
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return None, f"InterpreterPoolExecutor is new in Python 3.14; {python} has none"


def usable_cores() -> int:
    """The cores this process may run on (fewer than the machine has, in a container)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        return os.cpu_count() or 1


def size_task(seconds: float) -> int:
    """How many loop iterations take about `seconds` here, with this interpreter: sized
    by time, not by a fixed count, so that a fast interpreter gets as long a task. The
    fastest of three runs is taken, as the least disturbed by anything else running."""
    iterations = 10_000
    while True:
        elapsed = min(time_sequential(count_down, iterations, 1) for _ in range(3))
        if elapsed >= 0.01:
            return max(1, int(float(f"{iterations * seconds / elapsed:.2g}")))
        iterations *= 4


def time_sequential(job: Callable[[Any], Any], argument: Any, tasks: int) -> float:
    """Seconds to run every task, one after the other, in the calling thread."""
    start = time.perf_counter()
    for _ in range(tasks):
        job(argument)
    return time.perf_counter() - start


def time_pool(
    pool: Executor, job: Callable[[Any], Any], argument: Any, tasks: int, workers: int
) -> float:
    """Seconds for a pool to run every task, with at most `workers` of them under way at once."""
    start = time.perf_counter()
    running: set[Future[Any]] = set()
    for _ in range(tasks):
        if len(running) == workers:  # wait for a worker to be free
            done, running = futures.wait(running, return_when=futures.FIRST_COMPLETED)
            for future in done:
                future.result()  # raises what the task raised
        running.add(pool.submit(job, argument))
    for future in running:
        future.result()
    return time.perf_counter() - start


def time_asyncio(
    loop: asyncio.AbstractEventLoop, coroutine: Any, argument: Any, tasks: int, workers: int
) -> float:
    """Seconds for one event loop, in the calling thread, to run every task as a coroutine."""

    async def run_all() -> None:
        gate = asyncio.Semaphore(workers)  # at most `workers` tasks under way at once
        await asyncio.gather(*(coroutine(argument, gate) for _ in range(tasks)))

    start = time.perf_counter()
    loop.run_until_complete(run_all())
    return time.perf_counter() - start


def time_capacity(pool: Executor, share: int, cores: int) -> float:
    """How many cores' worth of Python code the machine ran at once, just now: one
    process counts down a share, then `cores` processes a share each at the same time."""
    start = time.perf_counter()
    pool.submit(count_down, share).result()
    one = time.perf_counter() - start
    start = time.perf_counter()
    list(pool.map(count_down, [share] * cores))
    return cores * one / (time.perf_counter() - start)


def summarise(variant: str, label: str, seconds: list[float], **facts: Any) -> dict[str, Any]:
    return {
        "variant": variant,
        "label": label,
        **facts,
        "seconds": seconds,
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
    }


def measure(args: argparse.Namespace, work: int) -> dict[str, Any]:
    """Time every variant in `args.repeats` interleaved rounds, after an untimed warm-up.

    One pool per tool, with as many workers as the most that any variant uses,
    serves every variant of that tool; the process pool, started first, also
    serves the capacity probe. Each round times every variant once and measures
    the machine's capacity, so that a change in the machine's speed affects a
    whole round alike.
    """
    cores, tasks, seconds = usable_cores(), args.tasks, args.task_ms / 1000
    most = max(args.workers)
    interpreters, unavailable = interpreter_pool()
    jobs: dict[str, Callable[[], float]] = {}
    facts: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        pools: dict[str, Executor] = {
            "processes": stack.enter_context(
                ProcessPoolExecutor(max(most, cores), initializer=warm_up)
            )
        }
        # With the fork start method, a pool starts all its workers at its first task; run
        # it now, while this process runs no other thread, since forking one that does is unsafe.
        pools["processes"].submit(warm_up).result()
        pools["threads"] = stack.enter_context(ThreadPoolExecutor(most))
        if interpreters is not None:
            pools["interpreters"] = stack.enter_context(interpreters(most, initializer=warm_up))
        loop = asyncio.new_event_loop()
        stack.callback(loop.close)
        one = {"threads": "thread", "processes": "process", "interpreters": "interpreter"}
        for workload, job, coroutine, argument in (
            ("cpu", count_down, count_down_task, work),
            ("io", wait, wait_task, seconds),
        ):
            for tool in ("sequential", "threads", "processes", "asyncio", "interpreters"):
                for n in [1] if tool == "sequential" else args.workers:
                    name = f"{workload}-{tool}-{n}"
                    label = f"{n} {tool if n > 1 else one.get(tool)}"
                    if tool == "sequential":
                        name, label = f"{workload}-sequential", "sequential"
                        jobs[name] = partial(time_sequential, job, argument, tasks)
                    elif tool == "asyncio":
                        label = f"{n} coroutine{'s' if n > 1 else ''} at a time"
                        jobs[name] = partial(time_asyncio, loop, coroutine, argument, tasks, n)
                    elif tool in pools:
                        jobs[name] = partial(time_pool, pools[tool], job, argument, tasks, n)
                    else:
                        continue
                    facts[name] = {
                        "workload": workload,
                        "tool": tool,
                        "workers": 1 if tool == "asyncio" else n,  # one thread runs the loop
                        "at_once": n,  # tasks under way at once, at most
                        "label": label,
                    }
        jobs["capacity"] = partial(time_capacity, pools["processes"], work * tasks // 2, cores)
        for name in list(jobs):
            if name not in jobs:
                continue  # dropped below
            try:
                jobs[name]()  # warm-up, which also starts every worker
            except Exception as error:  # an interpreter pool that this Python cannot run
                if "interpreters" not in name:
                    raise
                unavailable = f"InterpreterPoolExecutor failed here: {type(error).__name__}"
                for other in [j for j in jobs if "interpreters" in j]:
                    del jobs[other], facts[other]
        results: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(args.repeats):
            for name, run in jobs.items():
                results[name].append(run())
    capacity = results.pop("capacity")
    return {
        "timings": [
            summarise(name, facts[name].pop("label"), times, **facts[name])
            for name, times in results.items()
        ],
        "capacity": {"cores": cores, **summarise("capacity", "capacity", capacity, workers=cores)},
        "interpreter_pool": {"available": not unavailable, "note": unavailable or "measured"},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (about a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="worker counts")
    parser.add_argument("--tasks", type=int, default=8, help="tasks in each job")
    parser.add_argument("--task-ms", type=float, help="milliseconds of work or wait per task")
    parser.add_argument("--repeats", type=int, help="timed rounds")
    args = parser.parse_args(argv)
    counts = {"--workers": min(args.workers), "--tasks": args.tasks, "--repeats": args.repeats}
    for option, count in counts.items():
        if count is not None and count < 1:
            parser.error(f"{option} must be at least 1")
    if args.task_ms is not None and not 0 < args.task_ms <= 10_000:
        parser.error("--task-ms must be more than 0 and at most 10000")
    args.workers = sorted(set(args.workers))
    args.task_ms = args.task_ms or (1.0 if args.quick else 2.0)
    args.repeats = args.repeats or (4 if args.quick else 9)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warm_up()  # for the main thread, and the threads, which share its code objects
    work = size_task(args.task_ms / 1000)
    measured = measure(args, work)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    parameters = {
        "tasks": args.tasks,
        "task_ms": args.task_ms,
        "work": work,
        "repeats": args.repeats,
        "quick": args.quick,
    }
    if args.json:
        document = {
            "example": "every_tool",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": parameters,
            "baseline": "cpu-sequential",
            "interleaved": True,  # the i-th time of every variant comes from round i
            **measured,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {'on' if gil_enabled else 'off'}), {usable_cores()} usable cores")
    print(f"each job: {args.tasks} tasks of about {args.task_ms:g} ms; {args.repeats} rounds")
    times = {t["variant"]: t["seconds"] for t in measured["timings"]}
    for row in measured["timings"]:
        base = times[f"{row['workload']}-sequential"]
        speedup = statistics.median(b / s for b, s in zip(base, row["seconds"]))
        name = f"{WORKLOADS[row['workload']]}, {row['label']}"
        spread = f"{row['min'] * 1000:.1f} to {row['max'] * 1000:.1f} ms"
        print(f"{name:<34}{row['median'] * 1000:>7.1f} ms ({spread}){speedup:>8.2f}x")
    capacity = measured["capacity"]
    print(f"capacity: {capacity['median']:.2f} of {capacity['cores']} cores ran Python at once")
    if not measured["interpreter_pool"]["available"]:
        print(measured["interpreter_pool"]["note"])


if __name__ == "__main__":
    main()
