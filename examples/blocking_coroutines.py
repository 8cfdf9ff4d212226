"""CPU-bound coroutines get no faster than plain calls, and hold up every other task.

An event loop runs one task at a time on one thread, and a task runs until it
awaits something that is not ready. A coroutine that computes awaits nothing
while it computes, so two of them take as long as the same work done by plain
calls one after another, and a timer task that wants to wake every couple of
milliseconds waits for a whole step of work. The script measures that
timer's lateness beside the same work done four ways:

* plain calls, one after another, awaiting nothing (the baseline, no timer);
* in coroutines on the event loop, awaiting ``asyncio.sleep(0)`` between jobs;
* in threads, through ``asyncio.to_thread``: the loop is free, but with the
  GIL its thread must win the GIL back from the computing threads each time it
  wakes, which can take a switch interval;
* in a process pool, through ``loop.run_in_executor``: the computing happens in
  other interpreters, each with its own GIL.

Each round also measures the timer alone and how many cores' worth of Python
the machine ran at once. Last, one coroutine blocks the loop with asyncio's
debug mode on, which logs every step that takes ``loop.slow_callback_duration`` or longer.

Run it::

    python blocking_coroutines.py            # about 2 seconds on 2 cores
    python blocking_coroutines.py --quick    # about a second
    python blocking_coroutines.py --json     # every total and every tick's lateness
    python blocking_coroutines.py --workers 4 --job 20 --tick 1

Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

CLAIM = (
    "CPU-bound coroutines run one at a time on the event loop's thread: no faster than "
    "plain calls, and every other task waits for them. asyncio.to_thread frees the loop "
    "but, with the GIL, not the interpreter; a process pool frees both."
)


def count_down(n: int) -> None:
    """One job of CPU-bound work in pure Python."""
    while n > 0:
        n -= 1


def size_work(seconds: float) -> int:
    """Loop iterations that take about `seconds` here: from the fastest of five timings,
    since a busy machine can only slow a timing down."""
    iterations = 10_000
    while timed(count_down, iterations) < 0.004:
        iterations *= 2
    fastest = min(timed(count_down, iterations) for _ in range(5))
    return max(1, int(iterations * seconds / fastest))


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


async def tick(period: float, lateness: list[float]) -> None:
    """A timer task: ask to wake after `period`, again and again; keep how late each wake was."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(period)
        lateness.append(time.perf_counter() - start - period)


async def in_coroutines(work: int, jobs: int, workers: int, pool: Executor) -> None:
    async def worker() -> None:
        for _ in range(jobs):
            count_down(work)  # the loop runs nothing else meanwhile
            await asyncio.sleep(0)  # the moment other tasks get their turn

    await asyncio.gather(*(worker() for _ in range(workers)))


async def in_threads(work: int, jobs: int, workers: int, pool: Executor) -> None:
    async def worker() -> None:
        for _ in range(jobs):
            await asyncio.to_thread(count_down, work)  # the loop's default thread pool

    await asyncio.gather(*(worker() for _ in range(workers)))


async def in_processes(work: int, jobs: int, workers: int, pool: Executor) -> None:
    loop = asyncio.get_running_loop()

    async def worker() -> None:
        for _ in range(jobs):
            await loop.run_in_executor(pool, count_down, work)

    await asyncio.gather(*(worker() for _ in range(workers)))


async def beside_timer(job: Awaitable[None], period: float) -> tuple[float, list[float]]:
    """Seconds that `job` took while a timer task ticked, and the timer's lateness."""
    lateness: list[float] = []
    start = time.perf_counter()
    timer = asyncio.ensure_future(tick(period, lateness))
    await job
    elapsed = time.perf_counter() - start
    timer.cancel()
    await asyncio.gather(timer, return_exceptions=True)
    return elapsed, lateness


def capacity_now(pool: Executor, work: int, cores: int) -> float:
    """Cores' worth of Python code run at once, just now: four jobs' worth alone in the pool
    (the faster of two tries), then as much on each core at the same time. With every core
    free, both take as long. (One job is too short: a single pause inflates the result.)"""
    probe = 4 * work
    one = min(timed(lambda: pool.submit(count_down, probe).result()) for _ in range(2))
    return cores * one / timed(lambda: list(pool.map(count_down, [probe] * cores)))


def lateness_summary(lateness: list[float]) -> dict[str, Any]:
    """Every tick's lateness in seconds, with its median, 90th percentile and maximum."""
    if len(lateness) < 2:  # a job shorter than the timer's period leaves few or no ticks
        only = lateness[0] if lateness else None
        return {"lateness": lateness, "ticks": len(lateness), "lateness_median": only,
                "lateness_p90": only, "lateness_max": only}  # fmt: skip
    return {
        "lateness": lateness,
        "ticks": len(lateness),
        "lateness_median": statistics.median(lateness),
        "lateness_p90": statistics.quantiles(lateness, n=10, method="inclusive")[8],
        "lateness_max": max(lateness),
    }


def summary(variant: str, label: str, workers: int, seconds: list[float]) -> dict[str, Any]:
    return {
        "variant": variant,
        "label": label,
        "workers": workers,
        "seconds": seconds,
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
    }


WAYS = {
    "coroutines": ("{n} coroutines on the event loop", in_coroutines),
    "to_thread": ("{n} coroutines awaiting asyncio.to_thread", in_threads),
    "processes": ("{n} coroutines awaiting run_in_executor, process pool", in_processes),
}


async def measure(args: argparse.Namespace, work: int, pool: Executor) -> dict[str, Any]:
    """Every variant, the timer alone and the capacity once per round, after a warm-up round."""
    n, jobs, period, cores = args.workers, args.jobs, args.tick, usable_cores()
    seconds: dict[str, list[float]] = {name: [] for name in ("sequential", *WAYS)}
    late: dict[str, list[float]] = {name: [] for name in (*WAYS, "alone")}
    capacity: list[float] = []
    for round_ in range(args.rounds + 1):
        start = time.perf_counter()
        for _ in range(n * jobs):
            count_down(work)
        elapsed = {"sequential": time.perf_counter() - start}
        ticks: dict[str, list[float]] = {}
        for name, (_, way) in WAYS.items():
            elapsed[name], ticks[name] = await beside_timer(way(work, jobs, n, pool), period)
        _, ticks["alone"] = await beside_timer(asyncio.sleep(10 * period), period)
        share = capacity_now(pool, work, cores)
        if round_:  # round 0 warms up every variant and starts the default thread pool
            for name, value in elapsed.items():
                seconds[name].append(value)
            for name, values in ticks.items():
                late[name] += values
            capacity.append(share)
    timings = [summary("sequential", "plain calls, one after another", 1, seconds["sequential"])]
    for name, (label, _) in WAYS.items():
        workers = 1 if name == "coroutines" else n  # coroutines share one thread
        timings.append(
            {
                **summary(name, label.format(n=n), workers, seconds[name]),
                **lateness_summary(late[name]),
            }
        )
    return {
        "timings": timings,
        "timer_alone": lateness_summary(late["alone"]),
        "capacity": {"cores": cores, **summary("capacity", "capacity", cores, capacity)},
    }


class Kept(logging.Handler):
    """A logging handler that keeps the records it is given."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def debug_mode_warnings(seconds: float) -> dict[str, Any]:
    """Block the loop for `seconds` in one step with asyncio's debug mode on; keep what
    the asyncio logger warned, with each task's long description cut to its first word."""

    async def blocking() -> tuple[float, float]:
        threshold = asyncio.get_running_loop().slow_callback_duration
        start = time.perf_counter()
        while time.perf_counter() < start + seconds:  # CPU-bound, and no await
            pass
        return threshold, time.perf_counter() - start

    kept, logger = Kept(), logging.getLogger("asyncio")
    logger.addHandler(kept)
    propagate, logger.propagate = logger.propagate, False  # nothing on stderr
    try:
        threshold, blocked = asyncio.run(blocking(), debug=True)
    finally:
        logger.removeHandler(kept)
        logger.propagate = propagate
    messages = []
    for record in kept.records:
        args = record.args if isinstance(record.args, tuple) else ()
        if args and isinstance(args[0], str) and args[0].startswith("<"):
            args = (args[0].split()[0] + " …>", *args[1:])
        messages.append(str(record.msg) % args if args else record.getMessage())
    return {"slow_callback_duration": threshold, "blocked_for": blocked, "warnings": messages}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--workers", type=int, help="coroutines, threads or processes (2)")
    parser.add_argument("--jobs", type=int, help="jobs per worker")
    parser.add_argument("--job", type=float, help="milliseconds of work per job")
    parser.add_argument("--tick", type=float, help="the timer's period in milliseconds (2)")
    parser.add_argument("--rounds", type=int, help="interleaved timed rounds")
    args = parser.parse_args(argv)
    for option in ("workers", "jobs", "rounds"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    for option in ("job", "tick"):
        if getattr(args, option) is not None and not 0 < getattr(args, option) <= 1000:
            parser.error(f"--{option} must be above 0 and at most 1000 (milliseconds)")
    args.workers = args.workers or 2
    args.jobs = args.jobs or (8 if args.quick else 12)
    args.job = (args.job or (1.5 if args.quick else 2.0)) / 1000
    args.tick = (args.tick or 2.0) / 1000
    args.rounds = args.rounds or (2 if args.quick else 5)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    work = size_work(args.job)
    # Start every worker process now, while this process runs no other thread: forking
    # a process that runs threads can deadlock the child (and warns since Python 3.12).
    pool = ProcessPoolExecutor(max_workers=max(args.workers, usable_cores()))
    list(pool.map(count_down, [work] * max(args.workers, usable_cores())))
    try:
        results = asyncio.run(measure(args, work, pool))
    finally:
        pool.shutdown()
    debug = debug_mode_warnings(0.12)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        parameters = {"workers": args.workers, "jobs": args.jobs, "job": args.job, "work": work}
        document = {
            "example": "blocking_coroutines",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "switch_interval": sys.getswitchinterval(),
            "parameters": {
                **parameters,
                "tick": args.tick,
                "repeats": args.rounds,
                "quick": args.quick,
            },
            "baseline": "sequential",
            "interleaved": True,  # the i-th time of every variant comes from round i
            **results,
            "debug_mode": debug,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}), {args.workers} workers x {args.jobs} jobs of {work:,} steps")
    rows = [*results["timings"], {"label": "the timer alone", **results["timer_alone"]}]
    width = max(len(row["label"]) for row in rows) + 2
    print(f"{'':<{width}}{'total':>9}{'speedup':>9}{'timer late: median':>20}{'90%':>9}{'max':>9}")
    base = results["timings"][0]["median"]
    for row in rows:
        total = f"{row['median'] * 1000:.1f}ms" if "median" in row else ""
        speedup = f"{base / row['median']:.2f}x" if "median" in row else ""
        late = [row.get(k) for k in ("lateness_median", "lateness_p90", "lateness_max")]
        cells = "".join(f"{v * 1000:>7.2f}ms" if v is not None else f"{'':>9}" for v in late)
        print(f"{row['label']:<{width}}{total:>9}{speedup:>9}{'':>11}{cells}")
    capacity = results["capacity"]
    print(f"capacity: {capacity['median']:.2f} of {capacity['cores']} cores ran Python at once")
    print(f"debug mode (slow_callback_duration {debug['slow_callback_duration']} s) logged:")
    for message in debug["warnings"] or ["nothing"]:
        print(f"  {message}")


if __name__ == "__main__":
    main()
