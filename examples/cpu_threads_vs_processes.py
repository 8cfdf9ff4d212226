"""Threads do not speed up pure-Python CPU work under the GIL; processes do.

The same CPU-bound job, counting down from a large number in a plain Python
loop, is split evenly between 1, 2 and 4 workers, first as threads, then as
processes, and timed against doing it all in the main thread. With the GIL only
one thread runs Python code at a time, so threads take about as long as
sequential code. Each process has its own interpreter and its own GIL, so
processes run in parallel, up to the number of cores. On a free-threaded build
of CPython (3.13t and later, GIL disabled) threads run in parallel too.

Run it::

    python cpu_threads_vs_processes.py            # about 10 seconds on 2 cores
    python cpu_threads_vs_processes.py --quick    # a second or two
    python cpu_threads_vs_processes.py --json     # machine-readable results
    python cpu_threads_vs_processes.py --workers 1 2 8 --repeats 7

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import sysconfig
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, NoReturn

CLAIM = (
    "Pure-Python CPU-bound work gets no faster with threads under the GIL, "
    "but does with processes (and with threads on a free-threaded build)."
)


def count_down(n: int) -> int:
    """The CPU-bound job: a pure-Python loop that never blocks or does I/O."""
    while n > 0:
        n -= 1
    return n


def warm_up() -> None:
    """Run the job a few times untimed, in every process that will be timed.

    CPython 3.11 specialises a function's bytecode only after the function has
    been called several times (PEP 659), so without this the first variant
    measured would pay for running unspecialised code and the others would not.
    """
    for _ in range(20):
        count_down(1_000)


def time_sequential(total: int) -> float:
    """Seconds to do the whole job in the calling thread."""
    start = time.perf_counter()
    count_down(total)
    return time.perf_counter() - start


def size_job(seconds: float) -> int:
    """How many loop iterations take about `seconds` here, with this interpreter.

    Sizing the job by time rather than by a fixed count keeps every run long
    enough to measure, on a slow laptop and on PyPy's JIT compiler alike.
    """
    iterations = 10_000
    while (elapsed := time_sequential(iterations)) < 0.05:
        iterations *= 4
    return int(float(f"{iterations * seconds / elapsed:.2g}"))


def time_pool(pool: Executor, total: int, workers: int) -> float:
    """Seconds for `workers` pool workers to do an equal share of the job each."""
    shares = [total // workers] * workers
    start = time.perf_counter()
    list(pool.map(count_down, shares))
    return time.perf_counter() - start


def make_pool(kind: str, workers: int) -> Executor:
    """A pool of `workers` threads or processes."""
    if kind == "threads":
        return ThreadPoolExecutor(max_workers=workers)
    # A new process does not share the warmed-up code of this one: warm it up too.
    return ProcessPoolExecutor(max_workers=workers, initializer=warm_up)


def summarise(variant: str, label: str, seconds: list[float]) -> dict[str, Any]:
    return {
        "variant": variant,
        "label": label,
        "seconds": seconds,
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
    }


def measure(total: int, workers: list[int], repeats: int) -> list[dict[str, Any]]:
    """Time every variant `repeats` times, after one untimed warm-up run each.

    Pools are created (and their workers started by the warm-up) before the
    clock starts, so the timings compare running the job, not starting workers.
    Each round times every variant once, so that a slow drift in the machine's
    speed affects all variants alike.
    """
    labels = {"sequential": "sequential"}
    jobs: dict[str, Callable[[], float]] = {"sequential": partial(time_sequential, total)}
    with ExitStack() as stack:
        for kind, one in (("threads", "thread"), ("processes", "process")):
            for n in workers:
                pool = stack.enter_context(make_pool(kind, n))
                labels[f"{kind}-{n}"] = f"{n} {kind if n > 1 else one}"
                jobs[f"{kind}-{n}"] = partial(time_pool, pool, total, n)
        for job in jobs.values():
            job()  # warm-up, which also starts every worker
        seconds: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(repeats):
            for name, job in jobs.items():
                seconds[name].append(job())
    return [summarise(name, labels[name], seconds[name]) for name in jobs]


# --- provenance and argument errors: the same block in every example ---
def provenance() -> dict[str, Any]:
    """Where and how these numbers were measured."""
    gil_check = getattr(sys, "_is_gil_enabled", None)
    try:
        import multiprocessing

        start_method = multiprocessing.get_start_method()
    except (ImportError, RuntimeError):
        start_method = None
    try:
        usable_cores: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        usable_cores = os.cpu_count()
    return {
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "executable": sys.executable,
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": gil_check() if gil_check else True,
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores,
        "os": platform.platform(),
        "start_method": start_method,
        "timestamp_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def cpu_model() -> str:
    """The processor's marketing name, as the operating system reports it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("model name", "Hardware", "Model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        import subprocess

        query = ["sysctl", "-n", "machdep.cpu.brand_string"]
        return subprocess.run(query, capture_output=True, text=True, check=False).stdout.strip()
    return platform.processor() or platform.machine() or "unknown"


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser that reports a bad argument in one line, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# --- end of the shared block ---


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineErrorParser(description=CLAIM)
    parser.add_argument("--quick", action="store_true", help="a short run (a second or two)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--workers", type=positive_int, nargs="+", default=[1, 2, 4], help="worker counts"
    )
    parser.add_argument("--repeats", type=positive_int, help="timed runs per variant")
    parser.add_argument(
        "--work", type=positive_int, help="loop iterations in the whole job (default: timed)"
    )
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 5)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warm_up()  # for the main thread, and the threads, which share its code objects
    work: int = args.work or size_job(0.03 if args.quick else 0.2)
    timings = measure(work, args.workers, args.repeats)
    if args.json:
        document = {
            "example": "cpu_threads_vs_processes",
            "claim": CLAIM,
            "provenance": provenance(),
            "parameters": {"work": work, "repeats": args.repeats, "quick": args.quick},
            "baseline": "sequential",
            "timings": timings,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    info = provenance()
    gil = "on" if info["gil_enabled"] else "off"
    print(f"{info['implementation']} {info['version']} (GIL {gil}), {info['usable_cores']} cores")
    print(f"job: count down from {work:,}, {args.repeats} timed runs per variant")
    print(f"{'variant':<14}{'median':>10}{'min to max':>22}{'speedup':>10}")
    baseline = timings[0]["median"]
    for row in timings:
        spread = f"{row['min']:.3f} to {row['max']:.3f} s"
        speedup = baseline / row["median"]
        print(f"{row['label']:<14}{row['median']:>9.3f}s{spread:>22}{speedup:>9.2f}x")


if __name__ == "__main__":
    main()
