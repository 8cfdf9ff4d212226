"""Sent one at a time, many small tasks cost a process pool more than the work itself.

Thousands of small tasks (a short pure-Python loop each) go to a pool of
worker processes. Every task sent on its own is pickled, written to a pipe,
read, run, and its result sent back the same way. ``multiprocessing.Pool.map``
batches tasks into chunks by default (``divmod(len(tasks), 4 * workers)``,
rounded up), while ``concurrent.futures.ProcessPoolExecutor.map`` sends them
one at a time unless given a ``chunksize``. A plain loop in the main thread is
the baseline. The script also counts how many inputs ``Executor.map`` takes
before it returns: all of them, or, with the ``buffersize`` that Python 3.14
added, only that many.

Run it::

    python chunksize.py            # a few seconds
    python chunksize.py --quick    # about a second
    python chunksize.py --json     # machine-readable results
    python chunksize.py --tasks 2000 --workers 4

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable

CLAIM = (
    "Many small tasks sent one at a time cost a process pool more than the work; "
    "sending them in chunks makes the pool pay that cost once per chunk."
)


def task(n: int) -> int:
    """One small task: a short pure-Python loop."""
    while n > 0:
        n -= 1
    return n


def size_task(target: float) -> int:
    """How many loop iterations take about `target` seconds with this interpreter (the
    fastest of five tries of twenty tasks: a busy machine can only make a try slower)."""
    n = 1000
    while True:
        tries = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(20):
                task(n)
            tries.append((time.perf_counter() - start) / 20)
        if min(tries) > 5e-6 or n > 10**8:
            return max(1, int(n * target / min(tries)))
        n *= 4


def pool_chunksize(tasks: int, workers: int) -> int:
    """The chunksize that multiprocessing.Pool.map chooses when given none
    (``Pool._map_async`` in Lib/multiprocessing/pool.py): about four chunks per worker."""
    chunksize, extra = divmod(tasks, workers * 4)
    return chunksize + 1 if extra else chunksize


def inputs_taken(pool: ProcessPoolExecutor, count: int, **options: int) -> int:
    """How many of `count` inputs Executor.map has taken from a generator when it returns."""
    taken = 0

    def inputs() -> Iterator[int]:
        nonlocal taken
        for _ in range(count):
            taken += 1
            yield 0

    results = pool.map(task, inputs(), **options)
    at_return = taken
    for _ in results:  # run them all before the next measurement
        pass
    return at_return


def summarise(variant: str, label: str, values: list[float], chunks: int) -> dict[str, Any]:
    return {"variant": variant, "label": label, "chunksize": chunks, "seconds": values,
            "median": statistics.median(values), "min": min(values),
            "max": max(values)}  # fmt: skip


def run_all(map_: Callable[..., Iterable[int]], *args: Any, **options: Any) -> list[int]:
    """Call a map function and collect every result (Executor.map returns an iterator)."""
    return list(map_(*args, **options))


def measure(tasks: int, workers: int, n: int, rounds: int) -> list[dict[str, Any]]:
    """Time every variant once per round.

    Each round starts a fresh ProcessPoolExecutor, then, once it has shut down, a
    fresh Pool; both are started, and all their workers with them, by a first
    untimed call, so the timings compare handing tasks over, not starting processes.
    One pool at a time: forking a process while the other pool's threads run (the
    fork start method is Linux's default before Python 3.14) could deadlock the child.
    """
    work, start = [n] * tasks, [n] * 4 * workers
    auto, large = pool_chunksize(tasks, workers), -(-tasks // workers)
    results: dict[str, list[float]] = {}

    def timed(name: str, *call: Any, **options: Any) -> None:
        begin = time.perf_counter()
        run_all(*call, **options)
        results.setdefault(name, []).append(time.perf_counter() - begin)

    run_all(map, task, work)  # warm-up
    for _ in range(rounds):
        timed("loop", map, task, work)
        with ProcessPoolExecutor(workers) as executor:
            run_all(executor.map, task, start)
            timed("executor-1", executor.map, task, work)
            timed("executor-auto", executor.map, task, work, chunksize=auto)
        pool = multiprocessing.Pool(workers)
        try:
            pool.map(task, start, chunksize=1)
            timed("pool-1", pool.map, task, work, chunksize=1)
            timed("pool-auto", pool.map, task, work)
            timed("pool-large", pool.map, task, work, chunksize=large)
        finally:
            pool.close()
            pool.join()
    labels = {
        "loop": ("a loop in the main thread", 0),
        "pool-1": ("Pool.map, chunksize=1", 1),
        "pool-auto": (f"Pool.map, its own chunksize ({auto})", auto),
        "pool-large": (f"Pool.map, chunksize={large} (one chunk per worker)", large),
        "executor-1": ("ProcessPoolExecutor.map, its default chunksize=1", 1),
        "executor-auto": (f"ProcessPoolExecutor.map, chunksize={auto}", auto),
    }
    return [summarise(name, label, results[name], c) for name, (label, c) in labels.items()]


def observe(workers: int, count: int) -> list[dict[str, Any]]:
    """How many inputs Executor.map takes before returning, without and with buffersize."""
    buffered: int | None = None
    with ProcessPoolExecutor(workers) as executor:
        list(executor.map(task, [0] * workers))
        eager = inputs_taken(executor, count)
        if sys.version_info >= (3, 14):
            buffered = inputs_taken(executor, count, buffersize=2 * workers)
    return [
        {"name": "inputs", "label": "inputs given to Executor.map", "value": count},
        {"name": "taken", "label": "inputs it had taken when it returned", "value": eager},
        {"name": "taken_buffered", "label": f"the same with buffersize={2 * workers} "
         "(Python 3.14 and later)", "value": buffered},
    ]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (about a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--tasks", type=int, help="tasks per call")
    parser.add_argument("--rounds", type=int, help="timed rounds")
    args = parser.parse_args(argv)
    for option in ("workers", "tasks", "rounds"):
        value = getattr(args, option)
        if value is not None and value < 1:
            parser.error(f"--{option} must be at least 1")
    args.tasks = args.tasks or (100 if args.quick else 500)
    args.rounds = args.rounds or (3 if args.quick else 5)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    n = size_task(10e-6)  # about 10 microseconds of work per task
    timings = measure(args.tasks, args.workers, n, args.rounds)
    observations = observe(args.workers, min(args.tasks, 100))
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "chunksize",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {
                "tasks": args.tasks,
                "workers": args.workers,
                "work_per_task": n,
                "repeats": args.rounds,
                "quick": args.quick,
            },
            "baseline": "loop",
            "interleaved": True,  # the i-th time of every variant comes from round i
            "timings": timings,
            "observations": observations,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}), {args.workers} workers, {args.tasks:,} tasks of "
          f"{n:,} loop iterations, median of {args.rounds} rounds")  # fmt: skip
    loop = timings[0]["median"]
    for row in timings:
        print(f"{row['label']:<56}{row['median'] * 1000:>9.1f} ms{row['median'] / loop:>8.2f}x")
    for seen in observations:
        print(f"{seen['label']}: {seen['value'] if seen['value'] is not None else 'n/a'}")


if __name__ == "__main__":
    main()
