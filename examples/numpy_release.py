"""NumPy releases the GIL inside its loops over large arrays, so threads doing that work run at once.

Four NumPy jobs are each run twice in a row by the main thread (sequential), once
each by 2 threads, and once each by 2 processes, in interleaved rounds. Two spend
their time in NumPy's C loops over a large array of floats (np.sin and np.sort),
which run without the GIL. Two hold it: the same np.sin called on tiny arrays in a
Python loop (the time goes to the call, which needs the GIL, not to the loop), and
np.multiply over an array of Python objects (each element is a Python float, so
the loop must hold the GIL to touch it). Every round also measures how many cores' worth of
Python code the machine ran at once (its capacity).

Run it where NumPy is installed, or with `uv run numpy_release.py`, which reads the
dependency from the block below::

    python numpy_release.py            # about 3 seconds on 2 cores
    python numpy_release.py --quick    # about a second
    python numpy_release.py --json     # machine-readable results
"""

# /// script
# requires-python = ">=3.9"
# dependencies = ["numpy"]
# ///

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from typing import Any, Callable

try:
    import numpy as np
except ImportError:
    sys.exit("This example needs numpy: run it with `uv run numpy_release.py`")

CLAIM = (
    "NumPy releases the GIL inside its loops over large arrays of numbers, so threads doing "
    "that work run at the same time; called on tiny arrays, or on arrays of Python objects, it holds it."
)

# name, label, what it does with the GIL (computes without it / holds it)
WORKLOADS: list[tuple[str, str, str]] = [
    ("sin-large", "np.sin over 256 Ki floats", "computes"),
    ("sort-large", "np.sort of 256 Ki floats", "computes"),
    ("sin-small", "np.sin over 8 floats, called in a Python loop", "holds"),
    ("mul-object", "np.multiply of 4 Ki Python floats (object array)", "holds"),
]
WAYS = [
    ("sequential", "sequential", 1),
    ("threads-2", "2 threads", 2),
    ("processes-2", "2 processes", 2),
]
LARGE, SMALL, OBJECTS = 1 << 18, 8, 1 << 12
_arrays: dict[str, Any] = {}  # per process: the arrays the jobs work on, made once


def array(name: str) -> Any:
    if name not in _arrays:
        values = np.random.default_rng(42).random(LARGE)
        _arrays.update(
            large=values, small=values[:SMALL].copy(), objects=values[:OBJECTS].astype(object)
        )
    return _arrays[name]


def job(name: str, count: int) -> None:
    """`count` calls of one NumPy operation; the count was calibrated to take a job's time."""
    if name == "sin-large":
        data, out = array("large"), np.empty(LARGE)
        for _ in range(count):
            np.sin(data, out=out)  # the ufunc's inner loop runs without the GIL
    elif name == "sort-large":
        data = array("large")
        for _ in range(count):
            np.sort(data)  # numeric sorts run without the GIL
    elif name == "sin-small":
        data = array("small")
        for _ in range(count):
            np.sin(data)  # ufuncs release the GIL only for loops over more than 500 elements
    elif name == "mul-object":
        data = array("objects")
        for _ in range(count):
            np.multiply(data, data)  # PyNumber_Multiply on each pair of floats, under the GIL
    else:
        raise ValueError(name)


def twice(name: str, count: int) -> None:
    """The sequential way: both shares, one after the other, in this thread."""
    job(name, count)
    job(name, count)


def count_down(n: int) -> int:
    while n > 0:
        n -= 1
    return n


def seconds(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def calibrate(run: Callable[[int], Any], target: float) -> int:
    """How many calls of `run` take about `target` seconds here."""
    count = 1
    while True:
        elapsed = min(seconds(partial(run, count)) for _ in range(2))
        if elapsed >= target / 4 or count >= 1 << 24:
            return max(1, round(count * target / elapsed))
        count *= 4


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        return os.cpu_count() or 1


def summarise(variant: str, label: str, values: list[float], **extra: Any) -> dict[str, Any]:
    return {"variant": variant, "label": label, **extra, "seconds": values,
            "median": statistics.median(values), "min": min(values), "max": max(values)}  # fmt: skip


def measure(target: float, repeats: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time every workload in every way, once per round, after an untimed warm-up round."""
    cores = usable_cores()
    # Started before any thread; each worker makes its arrays as it starts, not in a timed round.
    processes = ProcessPoolExecutor(max(2, cores), initializer=array, initargs=("large",))
    threads = ThreadPoolExecutor(max_workers=2)
    try:
        processes.submit(array, "large").result()
        sizes = {n: calibrate(partial(job, n), target) for n, _, _ in WORKLOADS}
        share = calibrate(count_down, target)

        def way(name: str, how: str) -> Callable[[], float]:
            if how == "sequential":
                return lambda: seconds(partial(twice, name, sizes[name]))
            pool: Executor = threads if how == "threads-2" else processes
            return lambda: seconds(lambda: list(pool.map(job, [name] * 2, [sizes[name]] * 2)))

        def capacity() -> float:  # cores' worth of Python code run at once, just now
            one = seconds(lambda: processes.submit(count_down, share).result())
            return cores * one / seconds(lambda: list(processes.map(count_down, [share] * cores)))

        jobs = {f"{n}/{h}": way(n, h) for n, _, _ in WORKLOADS for h, _, _ in WAYS}
        jobs["capacity"] = capacity
        for run in jobs.values():
            run()  # warm-up
        results: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(repeats):
            for name, run in jobs.items():
                results[name].append(run())
    finally:
        threads.shutdown()
        processes.shutdown()
    labels = {n: label for n, label, _ in WORKLOADS}
    timings = [
        summarise(f"{n}/{h}", f"{labels[n]}, {way_label}", results[f"{n}/{h}"],
                  workload=n, way=h, workers=workers)
        for n, _, _ in WORKLOADS
        for h, way_label, workers in WAYS
    ]  # fmt: skip
    return timings, summarise("capacity", "capacity", results["capacity"], cores=cores)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (about a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--repeats", type=int, help="timed rounds")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    repeats = args.repeats or (3 if args.quick else 9)
    job_ms = 3.0 if args.quick else 5.0
    timings, capacity = measure(job_ms / 1000, repeats)
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    workloads = [{"name": n, "label": label, "gil": gil, "baseline": f"{n}/sequential"}
                 for n, label, gil in WORKLOADS]  # fmt: skip
    if args.json:
        json.dump({
            "example": "numpy_release", "claim": CLAIM, "gil_enabled": gil_enabled,
            "numpy": np.__version__,
            "parameters": {"job_ms": job_ms, "repeats": repeats, "quick": args.quick},
            "baseline": workloads[0]["baseline"],  # each workload has its own, see "workloads"
            "interleaved": True,  # the i-th time of every variant comes from round i
            "workloads": workloads, "timings": timings, "capacity": capacity,
        }, sys.stdout, indent=2)  # fmt: skip
        print()
        return
    by_name = {t["variant"]: t["seconds"] for t in timings}
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {'on' if gil_enabled else 'off'}), NumPy {np.__version__}, "
          f"{usable_cores()} usable cores, {repeats} rounds")  # fmt: skip
    print(f"{'workload':<48}{'sequential':>12}{'2 threads':>11}{'2 processes':>13}")
    for w in workloads:
        base = by_name[w["baseline"]]
        speed = [statistics.median(b / o for b, o in zip(base, by_name[f"{w['name']}/{h}"]))
                 for h in ("threads-2", "processes-2")]  # fmt: skip
        print(f"{w['label']:<48}{statistics.median(base) * 1000:>9.1f} ms"
              f"{speed[0]:>10.2f}x{speed[1]:>12.2f}x")  # fmt: skip
    print(f"capacity: {capacity['median']:.2f} of {capacity['cores']} cores ran Python at once")


if __name__ == "__main__":
    main()
