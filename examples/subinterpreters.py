"""Since Python 3.12, interpreters in one process can each have a GIL of their own and run Python in parallel.

The script starts interpreters inside its own process (subinterpreters) with
whatever this Python offers: ``concurrent.interpreters`` (Python 3.14 and
later), or the private modules that came before it, ``_interpreters``
(3.13) and ``_xxsubinterpreters`` (3.12 and older; private modules can
change or disappear in any release). It measures three things:

1. what starting an interpreter costs (create it, run an empty statement,
   destroy it), beside starting a thread and starting a process;
2. which kinds of objects this Python can pass to another interpreter
   without pickling them (``is_shareable``);
3. a CPU-bound countdown in 1 interpreter against 2 interpreters driven by 2
   threads, beside 2 threads of the main interpreter. Every round also
   measures how many cores' worth of Python code the machine really ran at
   once (its capacity), so that a busy machine shows as one.

Before 3.12 all interpreters of a process share one GIL, so two of them take
turns; on a free-threaded build there is no GIL to share; PyPy has no
subinterpreters. The script reports what it found and measures what it can.

Run it::

    python subinterpreters.py            # about 3 seconds on 2 cores
    python subinterpreters.py --quick    # a second or two
    python subinterpreters.py --json     # machine-readable results
    python subinterpreters.py --repeats 41

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial
from typing import Any, Callable

CLAIM = (
    "Since Python 3.12 a subinterpreter can have a GIL of its own, as the ones Python "
    "code creates do, so two of them can run Python code in parallel in one process; "
    "before 3.12 they share one GIL."
)

# What each interpreter runs first: the job's function, warmed up.
SETUP = """
def count_down(n):
    while n > 0:
        n -= 1
    return n

for _ in range(20):
    count_down(1_000)
"""

# Objects to ask about, one of each kind: (name, label, a way to make one).
SAMPLES: list[tuple[str, str, Callable[[], object]]] = [
    ("none", "None", lambda: None),
    ("bool", "True", lambda: True),
    ("int", "an int", lambda: 7),
    ("float", "a float", lambda: 0.5),
    ("str", "a str", lambda: "text"),
    ("bytes", "bytes", lambda: b"data"),
    ("tuple", "a tuple of ints", lambda: (1, 2)),
    ("memoryview", "a memoryview", lambda: memoryview(b"data")),
    ("list", "a list", lambda: [1, 2]),
    ("dict", "a dict", lambda: {"a": 1}),
    ("bytearray", "a bytearray", lambda: bytearray(b"data")),
]


class Subinterpreters:
    """Create interpreters, run source code in them and destroy them, with the
    API this Python has. `name` is None where it has none."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.module: Any = None
        try:  # Python 3.14 and later: the public API of PEP 734
            from concurrent import interpreters  # type: ignore[attr-defined]

            self.name, self.module = "concurrent.interpreters", interpreters
            return
        except ImportError:
            pass
        for private in ("_interpreters", "_xxsubinterpreters"):  # 3.13; 3.12 and older
            try:
                self.module = __import__(private)
            except ImportError:
                continue
            self.name = f"{private} (private)"
            return

    def create(self) -> Any:
        return self.module.create()

    def run(self, interpreter: Any, source: str) -> None:
        """Run `source` in `interpreter`, in the calling thread; raise if it failed."""
        if self.name == "concurrent.interpreters":
            interpreter.exec(source)  # raises ExecutionFailed
        elif self.name == "_interpreters (private)":
            failure = self.module.exec(interpreter, source)  # returns what it raised
            if failure is not None:
                raise RuntimeError(f"in a subinterpreter: {failure.formatted}")
        else:
            self.module.run_string(interpreter, source)  # raises RunFailedError

    def destroy(self, interpreter: Any) -> None:
        if self.name == "concurrent.interpreters":
            interpreter.close()
        else:
            self.module.destroy(interpreter)

    def is_shareable(self, obj: object) -> bool | None:
        return bool(self.module.is_shareable(obj)) if self.module else None

    def gil_of(self, interpreter: Any) -> str:
        """Whether `interpreter` has a GIL of its own, shares the main one, or has none."""
        if not getattr(sys, "_is_gil_enabled", lambda: True)():
            return "none: the build runs without the GIL"
        try:  # 3.13 and later record each interpreter's configuration
            import _interpreters

            ident = getattr(interpreter, "id", interpreter)
            gil = _interpreters.get_config(ident).gil
            return "its own" if gil == "own" else "the main interpreter's"
        except (ImportError, AttributeError):
            pass
        # 3.12's private module creates interpreters with a GIL of their own (PEP 684);
        # before 3.12 the GIL belongs to the whole process.
        return "its own" if sys.version_info >= (3, 12) else "the main interpreter's"


def count_down(n: int) -> int:
    """The CPU-bound job: a pure-Python loop that never blocks or does I/O."""
    while n > 0:
        n -= 1
    return n


def warm_up() -> None:
    for _ in range(20):
        count_down(1_000)


def do_nothing() -> None:
    pass


def start_thread() -> float:
    start = time.perf_counter()
    thread = threading.Thread(target=do_nothing)
    thread.start()
    thread.join()
    return time.perf_counter() - start


def start_interpreter(api: Subinterpreters) -> float:
    start = time.perf_counter()
    interpreter = api.create()
    api.run(interpreter, "pass")
    api.destroy(interpreter)
    return time.perf_counter() - start


def start_process() -> float:
    start = time.perf_counter()
    process = multiprocessing.Process(target=do_nothing)
    process.start()
    process.join()
    return time.perf_counter() - start


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


def measure_startup(api: Subinterpreters, repeats: int) -> list[dict[str, Any]]:
    """Start (and end) a thread, an interpreter and a process once per round.

    This runs before any other thread or process exists: forking a process
    that runs threads can deadlock the child.
    """
    starts: dict[str, tuple[str, Callable[[], float]]] = {"thread": ("a thread", start_thread)}
    if api.name:
        starts["interpreter"] = ("an interpreter", partial(start_interpreter, api))
    method = multiprocessing.get_start_method()
    starts["process"] = (f"a process ({method})", start_process)
    for _, job in starts.values():
        job()  # warm-up: imports, and a forkserver's own start
    results: dict[str, list[float]] = {name: [] for name in starts}
    for _ in range(repeats):
        for name, (_, job) in starts.items():
            results[name].append(job())
    return [summarise(name, starts[name][0], results[name], 1) for name in results]


def time_main(total: int) -> float:
    start = time.perf_counter()
    count_down(total)
    return time.perf_counter() - start


def time_in(api: Subinterpreters, interpreter: Any, total: int) -> float:
    start = time.perf_counter()
    api.run(interpreter, f"count_down({total})")
    return time.perf_counter() - start


def time_pool(pool: Executor, jobs: Sequence[Callable[[], Any]]) -> float:
    """Seconds for the pool's threads to run `jobs`, one each, at the same time."""
    start = time.perf_counter()
    for future in [pool.submit(job) for job in jobs]:
        future.result()
    return time.perf_counter() - start


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        return os.cpu_count() or 1


def time_capacity(pool: Executor, share: int, cores: int) -> float:
    """How many cores' worth of Python code the machine ran at once, just now:
    one process counts down a share, then `cores` processes a share each."""
    start = time.perf_counter()
    pool.submit(count_down, share).result()
    one = time.perf_counter() - start
    start = time.perf_counter()
    list(pool.map(count_down, [share] * cores))
    return cores * one / (time.perf_counter() - start)


def size_job(seconds: float) -> int:
    """How many loop iterations take about `seconds` here, with this interpreter."""
    iterations = 10_000
    while True:
        elapsed = time_main(iterations)
        if elapsed >= 0.02:
            return int(float(f"{iterations * seconds / elapsed:.2g}"))
        iterations *= 4


def measure_parallel(
    api: Subinterpreters, total: int, repeats: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time the job in the main thread, in 1 interpreter, in 2 threads and in 2
    interpreters, once per round, `repeats` rounds, after an untimed run each."""
    half = total // 2
    cores = usable_cores()
    labels = {"main": "main interpreter", "threads-2": "2 threads, main interpreter"}
    counts = {"main": 1, "threads-2": 2}
    with ExitStack() as stack:
        processes = stack.enter_context(ProcessPoolExecutor(cores, initializer=warm_up))
        processes.submit(warm_up).result()  # starts every worker, before any thread
        threads = stack.enter_context(ThreadPoolExecutor(max_workers=2))
        jobs: dict[str, Callable[[], float]] = {
            "main": partial(time_main, total),
            "threads-2": partial(time_pool, threads, [partial(count_down, half)] * 2),
        }
        if api.name:
            first, second = api.create(), api.create()
            stack.callback(api.destroy, first)
            stack.callback(api.destroy, second)
            for interpreter in (first, second):
                api.run(interpreter, SETUP)
            source = f"count_down({half})"
            both = [partial(api.run, first, source), partial(api.run, second, source)]
            jobs["interpreter-1"] = partial(time_in, api, first, total)
            jobs["interpreters-2"] = partial(time_pool, threads, both)
            labels.update(
                {
                    "interpreter-1": "1 subinterpreter",
                    "interpreters-2": "2 subinterpreters, 2 threads",
                }
            )
            counts.update({"interpreter-1": 1, "interpreters-2": 2})
        jobs["capacity"] = partial(time_capacity, processes, half, cores)
        for job in jobs.values():
            job()  # warm-up
        results: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(repeats):
            for name, job in jobs.items():
                results[name].append(job())
    capacity = results.pop("capacity")
    order = [n for n in ("main", "interpreter-1", "threads-2", "interpreters-2") if n in results]
    timings = [summarise(n, labels[n], results[n], counts[n]) for n in order]
    return timings, {"cores": cores, **summarise("capacity", "capacity", capacity, cores)}


def observe(api: Subinterpreters) -> list[dict[str, Any]]:
    """What this Python offers: the API, the GIL of a new interpreter, what it can share."""
    gil = None
    if api.name:
        interpreter = api.create()
        gil = api.gil_of(interpreter)
        api.destroy(interpreter)
    observations: list[dict[str, Any]] = [
        {"name": "api", "label": "module used", "value": api.name},
        {"name": "gil", "label": "GIL of a new interpreter", "value": gil},
    ]
    for name, label, make in SAMPLES:
        observations.append(
            {"name": f"share-{name}", "label": f"shares {label}", "value": api.is_shareable(make())}
        )
    return observations


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (a second or two)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--repeats", type=int, help="timed rounds of the parallel job")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.repeats = args.repeats or (5 if args.quick else 15)
    args.starts = 3 if args.quick else 7
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    api = Subinterpreters()
    warm_up()
    startup = measure_startup(api, args.starts)
    observations = observe(api)
    work = size_job(0.008 if args.quick else 0.02)
    timings, capacity = measure_parallel(api, work, args.repeats)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "subinterpreters",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {
                "work": work,
                "repeats": args.repeats,
                "starts": args.starts,
                "quick": args.quick,
            },
            "api": api.name,
            "observations": observations,
            "startup": startup,
            "baseline": "main",
            "interleaved": True,  # the i-th time of every variant comes from round i
            "timings": timings,
            "capacity": capacity,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}), {usable_cores()} usable cores")
    for row in observations:
        value = {True: "yes", False: "no", None: "n/a"}.get(row["value"], row["value"])
        print(f"  {row['label']:<28} {value}")
    print(f"starting and ending, median of {args.starts}:")
    for row in startup:
        print(f"  {row['label']:<28} {row['median'] * 1000:8.2f} ms")
    print(f"job: count down from {work:,}, {args.repeats} rounds")
    baseline = timings[0]["median"]
    for row in timings:
        speedup = baseline / row["median"]
        print(f"  {row['label']:<28} {row['median'] * 1000:8.1f} ms {speedup:6.2f}x")
    print(f"capacity: {capacity['median']:.2f} of {capacity['cores']} cores ran Python at once")


if __name__ == "__main__":
    main()
