"""A process pool loses to one thread once the data it must send outweighs the work.

Each task does a fixed amount of Python work, then a cheap pass over a payload
of bytes (it adds up one byte in every 1024). One thread reads each payload
where it lies. A pool of worker processes must pickle every payload, push it
through a pipe and unpickle it in a worker before the work can start; its
workers share the fixed work out, so the pool wins while payloads are small
and loses once copying them costs more than the work it shares. Giving the
workers the name of a shared memory block and where to read, instead of the
bytes, leaves nothing to copy. Threads copy nothing either; on a free-threaded
build they also run at the same time. Payloads grow geometrically, every round
times every variant at every size, and the script reports where each variant's
speedup over one thread falls below 1, interpolated between the sizes around it.

Run it::

    python payload_crossover.py            # a few seconds
    python payload_crossover.py --quick    # about a second
    python payload_crossover.py --json     # machine-readable results
    python payload_crossover.py --largest 16 --tasks 8 --workers 4

Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import platform
import shutil
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import shared_memory
from typing import Any, Callable

CLAIM = (
    "A process pool beats one thread while its tasks carry little data, and loses once "
    "pickling and piping the data costs more than the work it shares out; shared memory "
    "removes the copy."
)
STRIDE = 1024  # the cheap pass reads one byte in every STRIDE
KIB, MIB = 1024, 1024 * 1024

_block: shared_memory.SharedMemory | None = None  # the shared block, in each worker


def spin(n: int) -> int:
    """The fixed work: a pure-Python loop, the same whatever the payload's size."""
    while n > 0:
        n -= 1
    return n


def work(payload: bytes | memoryview, n: int) -> int:
    """One task: the fixed work, then a cheap pass over the payload."""
    with memoryview(payload) as whole, whole[::STRIDE] as sample:
        total = sum(sample)
    return spin(n) + total


def attach(name: str) -> None:
    """Run once in each worker as it starts: map the shared block by its name."""
    global _block
    if sys.version_info >= (3, 13):  # the parent alone owns (and removes) the block
        _block = shared_memory.SharedMemory(name=name, track=False)
    else:
        _block = shared_memory.SharedMemory(name=name)


def work_shared(offset: int, size: int, n: int) -> int:
    """The same task on a payload already in the shared block: only numbers were sent."""
    assert _block is not None and _block.buf is not None
    with _block.buf[offset : offset + size] as payload:
        return work(payload, n)


def seconds(job: Callable[[], object]) -> float:
    start = time.perf_counter()
    job()
    return time.perf_counter() - start


def size_spin(target: float) -> int:
    """How many loop iterations take about `target` seconds with this interpreter: the
    fastest of ten short tries, since a busy machine can only make a try slower, and
    a short one often runs without being interrupted."""
    n = 1000
    while (elapsed := min(seconds(lambda: spin(n)) for _ in range(10))) < 0.0005:  # noqa: B023
        n *= 2
    return max(1, int(n * target / elapsed))


def make_payloads(size: int, tasks: int) -> list[bytes]:
    """`tasks` distinct payloads of `size` bytes (distinct, so pickle sends each one)."""
    base = bytes(range(256)) * (size // 256)
    return [bytes([i % 256]) + base[1:] for i in range(tasks)]


def capacity(pool: ProcessPoolExecutor, n: int, workers: int) -> float:
    """How many cores' worth of Python the pool's workers ran at once, just now: one
    loop alone, then one per worker at the same time (`workers` if nothing held them back)."""
    one = seconds(lambda: pool.submit(spin, n).result())
    return workers * one / seconds(lambda: list(pool.map(spin, [n] * workers)))


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "seconds": values,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def measure(
    sizes: list[int], tasks: int, workers: int, n: int, rounds: int
) -> tuple[dict[tuple[str, int], list[float]], dict[int, list[float]], list[float]]:
    """Time every variant at every size in each of `rounds` rounds, after one untimed round.

    The pools are created and their workers started before the clock starts: the
    timings compare handing work over, not starting processes.
    """
    payloads = {size: make_payloads(size, tasks) for size in sizes}
    block = shared_memory.SharedMemory(create=True, size=tasks * max(sizes))
    assert block.buf is not None
    buf = block.buf
    counts = [n] * tasks

    def fill(size: int) -> None:  # where a producer would write the data in the first place
        for i, payload in enumerate(payloads[size]):
            buf[i * size : (i + 1) * size] = payload

    try:
        with ProcessPoolExecutor(workers, initializer=attach, initargs=(block.name,)) as processes:
            # Start every worker now, before this process starts any thread (forking a
            # process that runs threads can deadlock the child).
            list(processes.map(spin, [n] * workers))
            with ThreadPoolExecutor(workers) as threads:
                variants: dict[str, Callable[[int], list[int]]] = {
                    "thread": lambda size: [work(p, n) for p in payloads[size]],
                    "threads": lambda size: list(threads.map(work, payloads[size], counts)),
                    "processes": lambda size: list(processes.map(work, payloads[size], counts)),
                    "shared": lambda size: list(
                        processes.map(
                            work_shared, range(0, tasks * size, size), [size] * tasks, counts
                        )
                    ),
                }
                times: dict[tuple[str, int], list[float]] = {}
                copies: dict[int, list[float]] = {size: [] for size in sizes}
                probes: list[float] = []
                for size in sizes:  # the untimed round, which also checks every answer
                    fill(size)
                    answers = [variants[kind](size) for kind in variants]
                    assert all(answer == answers[0] for answer in answers), "variants disagree"
                for _ in range(rounds):
                    for size in sizes:
                        copies[size].append(seconds(lambda: fill(size)))  # noqa: B023
                        for kind, run in variants.items():
                            elapsed = seconds(lambda: run(size))  # noqa: B023
                            times.setdefault((kind, size), []).append(elapsed)
                    probes.append(capacity(processes, 2 * n, workers))
    finally:
        block.close()
        block.unlink()
    return times, copies, probes


def crossover(sizes: list[int], speedups: list[float]) -> dict[str, Any]:
    """Where a speedup over one thread falls below 1 as the payload grows.

    "crossed": at the last fall from at least 1 to below 1, interpolated between
    the two sizes around it on logarithmic scales; "always faster", "never faster";
    "rose" when it only ever climbed from below 1 to above it.
    """
    faster = [s >= 1 for s in speedups]
    falls = [i for i in range(len(sizes) - 1) if faster[i] and not faster[i + 1]]
    crossings = sum(a != b for a, b in zip(faster, faster[1:]))
    if all(faster) or not any(faster):
        kind = "always faster" if all(faster) else "never faster"
        return {"kind": kind, "payload": None, "crossings": 0}
    if not falls:
        return {"kind": "rose", "payload": None, "crossings": crossings}
    i = falls[-1]
    above, below = math.log(speedups[i]), math.log(speedups[i + 1])
    share = above / (above - below)
    payload = math.exp(math.log(sizes[i]) + share * math.log(sizes[i + 1] / sizes[i]))
    return {
        "kind": "crossed",
        "payload": payload,
        "crossings": crossings,
        "last_faster": sizes[i],
        "first_slower": sizes[i + 1],
    }


def in_bytes(size: float) -> str:
    return f"{size / MIB:.3g} MiB" if size >= MIB else f"{size / KIB:.3g} KiB"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (about a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (and threads)")
    parser.add_argument("--tasks", type=int, default=4, help="tasks, one payload each, per call")
    parser.add_argument("--largest", type=int, default=4, help="largest payload in MiB")
    parser.add_argument("--rounds", type=int, help="timed rounds")
    args = parser.parse_args(argv)
    for option in ("workers", "tasks", "largest", "rounds"):
        value = getattr(args, option)
        if value is not None and value < 1:
            parser.error(f"--{option} must be at least 1")
    step, smallest = (16 if args.quick else 4), 16 * KIB
    args.sizes = [smallest * step**k for k in range(12) if smallest * step**k <= args.largest * MIB]
    if not args.sizes:
        args.sizes = [args.largest * MIB]
    args.room = None
    with contextlib.suppress(OSError):  # a container's /dev/shm can be small: stay inside it
        args.room = shutil.disk_usage("/dev/shm").free
    while args.room is not None and args.sizes and args.tasks * args.sizes[-1] > args.room // 2:
        args.sizes.pop()
    if not args.sizes:
        parser.error("/dev/shm has too little room for even the smallest payload")
    args.rounds = args.rounds or (3 if args.quick else 6)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    for _ in range(20):  # warm-up: CPython 3.11 specialises a function after a few calls
        spin(1000)
    n = size_spin(0.001 if args.quick else 0.002)
    times, copies, probes = measure(args.sizes, args.tasks, args.workers, n, args.rounds)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    w = args.workers
    labels = {
        "thread": "one thread",
        "threads": f"{w} threads",
        "processes": f"process pool, {w} workers, data pickled",
        "shared": f"process pool, {w} workers, data in shared memory",
    }
    timings = []
    for size in args.sizes:
        for kind, label in labels.items():
            row = {"variant": f"{kind}-{size}", "label": f"{label}, {in_bytes(size)} per task",
                   "kind": kind, "payload": size, "workers": 1 if kind == "thread" else w,
                   **summary(times[kind, size])}  # fmt: skip
            if kind == "shared":
                row["copy"] = summary(copies[size])  # writing the payloads into the block
            timings.append(row)
    speedups = {
        kind: [
            statistics.median(t / v for t, v in zip(times["thread", s], times[kind, s]))
            for s in args.sizes
        ]
        for kind in ("threads", "processes", "shared")
    }
    crossovers = {kind: crossover(args.sizes, values) for kind, values in speedups.items()}
    if args.json:
        document = {
            "example": "payload_crossover",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {
                "tasks": args.tasks,
                "workers": w,
                "work_per_task": n,
                "stride": STRIDE,
                "smallest": args.sizes[0],
                "largest": args.sizes[-1],
                "repeats": args.rounds,
                "quick": args.quick,
            },
            "sizes": args.sizes,
            "kinds": labels,
            "baseline": f"thread-{args.sizes[0]}",
            "interleaved": True,  # the i-th time of every variant comes from round i
            "timings": timings,
            "speedups": speedups,
            "crossovers": crossovers,
            "capacity": {"cores": w, **summary(probes)},
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}): {args.tasks} tasks per call, {w} workers, median of "
          f"{args.rounds} rounds; speedup over one thread in brackets")  # fmt: skip
    print(f"{'payload':>10}{'one thread':>12}" + "".join(f"{k:>20}" for k in speedups))
    for i, size in enumerate(args.sizes):
        cells = "".join(
            f"{statistics.median(times[k, size]) * 1000:>11.2f} ms ({speedups[k][i]:.2f}x)"
            for k in speedups
        )
        print(f"{in_bytes(size):>10}{statistics.median(times['thread', size]) * 1000:>9.2f} ms"
              f"{cells}")  # fmt: skip
    for kind, found in crossovers.items():
        where = f"at about {in_bytes(found['payload'])}" if found["payload"] else found["kind"]
        print(f"{labels[kind]} against one thread: {where}")
    print(f"capacity: {statistics.median(probes):.2f} of {w} workers ran Python at once")


if __name__ == "__main__":
    main()
