"""Threads do not speed up pure-Python CPU work under the GIL; processes do.

The same CPU-bound job, counting down from a large number in a plain Python
loop, is split evenly between 1, 2 and 4 workers, first as threads, then as
processes, and timed against doing it all in the main thread. With the GIL only
one thread of an interpreter runs Python code at a time, so threads take about
as long as sequential code. Each process runs its own interpreter and so has
a GIL that no other process shares (in every version; since Python 3.12, PEP
684, a GIL belongs to an interpreter, and one process can run several), so
processes run in parallel, up to the number of cores. On
a free-threaded build of CPython (3.13t and later, GIL disabled) threads run in
parallel too. Every round also measures how many cores' worth of Python code
the machine really ran at once (its capacity), so that a busy machine shows as
one.

Run it::

    python cpu_threads_vs_processes.py            # about 15 seconds on 2 cores
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
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial
from typing import Any, Callable

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

    An interpreter speeds a loop up only after running it a while. CPython 3.11
    prepares a function's bytecode for specialisation (PEP 659) after a few
    calls or unconditional backward jumps; this loop jumps back conditionally,
    so on 3.11 only calls count, and a first long countdown runs unspecialised
    from start to end. CPython 3.12 and later specialise each instruction after
    a few runs, within the loop's first iterations (the free-threaded 3.13 does
    not specialise at all), and PyPy compiles a loop to machine code once it has
    run a while. Without the warm-up, that cost would
    fall on the first share each process runs, in whichever variant happened to
    use that worker first; with it, every process has paid before the clock.
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


def start_processes(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` processes, started before this process starts any thread.

    Forking a process that runs threads can deadlock the child, and since
    Python 3.12 os.fork() warns when it happens. With the fork start method
    (Linux's default before 3.14) a pool starts all its workers at its first
    job (since Python 3.10.5), before its own helper threads: so the pool's
    first job is run here, while the main thread is still the only one. Other
    start methods fork nothing.
    """
    # A new process does not share the warmed-up code of this one: warm it up too.
    pool = ProcessPoolExecutor(max_workers=workers, initializer=warm_up)
    pool.submit(warm_up).result()
    return pool


def usable_cores() -> int:
    """The cores this process may run on (fewer than the machine has, in a container)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        return os.cpu_count() or 1


def time_capacity(pool: Executor, share: int, cores: int) -> float:
    """How many cores' worth of Python code the machine ran at once, just now.

    One process counts down a share of the job, then `cores` processes count
    down a share each at the same time: with every core free, both take as
    long, and the result is `cores` (or a little more or less: it is a
    measurement too). It is measured in every round, beside the
    variants, because a machine can deliver less than its cores to Python code
    for many seconds (a busy neighbour, a shared hyper-threaded core) unannounced.
    """
    start = time.perf_counter()
    pool.submit(count_down, share).result()
    one = time.perf_counter() - start
    start = time.perf_counter()
    list(pool.map(count_down, [share] * cores))
    return cores * one / (time.perf_counter() - start)


def summarise(variant: str, label: str, seconds: list[float], workers: int) -> dict[str, Any]:
    return {
        "variant": variant,
        "label": label,
        "workers": workers,
        "seconds": seconds,
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
    }


def measure(total: int, workers: list[int], repeats: int) -> tuple[list[Any], dict[str, Any]]:
    """Time every variant in `repeats` rounds, after one untimed warm-up run each.

    Pools are created (and their workers started by the warm-up) before the
    clock starts, so the timings compare running the job, not starting workers.
    One pool of processes, started first, serves every process variant and the
    capacity probe: `n` shares keep `n` of its workers busy. Each round times
    every variant once and measures the machine's capacity, so that a change in
    the machine's speed affects a whole round alike.
    """
    labels, counts = {"sequential": "sequential"}, {"sequential": 1}
    jobs: dict[str, Callable[[], float]] = {"sequential": partial(time_sequential, total)}
    cores = usable_cores()
    with ExitStack() as stack:
        processes = stack.enter_context(start_processes(max(*workers, cores)))
        for kind, one in (("threads", "thread"), ("processes", "process")):
            for n in workers:
                pool: Executor = processes
                if kind == "threads":
                    pool = stack.enter_context(ThreadPoolExecutor(max_workers=n))
                labels[f"{kind}-{n}"] = f"{n} {kind if n > 1 else one}"
                counts[f"{kind}-{n}"] = n
                jobs[f"{kind}-{n}"] = partial(time_pool, pool, total, n)
        # Half the job per process, on any number of cores: as long as a 2-worker share.
        jobs["capacity"] = partial(time_capacity, processes, total // 2, cores)
        for job in jobs.values():
            job()  # warm-up, which also starts every worker
        results: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(repeats):
            for name, job in jobs.items():
                results[name].append(job())
    capacity = results.pop("capacity")
    timings = [summarise(name, labels[name], results[name], counts[name]) for name in results]
    return timings, {"cores": cores, **summarise("capacity", "capacity", capacity, cores)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (a second or two)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="worker counts")
    parser.add_argument("--repeats", type=int, help="timed runs per variant")
    parser.add_argument("--work", type=int, help="loop iterations in all (default: timed)")
    args = parser.parse_args(argv)
    counts = {"--workers": min(args.workers), "--repeats": args.repeats, "--work": args.work}
    for option, count in counts.items():
        if count is not None and count < 1:
            parser.error(f"{option} must be at least 1")
    # Many short rounds: a machine's speed can change from one tenth of a second to
    # the next, and the median of many rounds moves less than that of a few long ones.
    args.repeats = args.repeats or (9 if args.quick else 72)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warm_up()  # for the main thread, and the threads, which share its code objects
    work: int = args.work or size_job(0.01 if args.quick else 0.025)
    timings, capacity = measure(work, args.workers, args.repeats)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "cpu_threads_vs_processes",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {"work": work, "repeats": args.repeats, "quick": args.quick},
            "baseline": "sequential",
            "interleaved": True,  # the i-th time of every variant comes from round i
            "timings": timings,
            "capacity": capacity,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}), {os.cpu_count()} cores")
    print(f"job: count down from {work:,}, {args.repeats} timed runs per variant")
    print(f"{'variant':<14}{'median':>10}{'min to max':>22}{'speedup':>10}")
    baseline = timings[0]["median"]
    for row in timings:
        spread = f"{row['min']:.3f} to {row['max']:.3f} s"
        speedup = baseline / row["median"]
        print(f"{row['label']:<14}{row['median']:>9.3f}s{spread:>22}{speedup:>9.2f}x")
    print(f"capacity: {capacity['median']:.2f} of {capacity['cores']} cores ran Python at once")


if __name__ == "__main__":
    main()
