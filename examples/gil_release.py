"""Threads overlap where the GIL is released: waiting, I/O, hashing and compression.

Nine short jobs are each run twice in a row by the main thread (sequential),
once each by 2 threads, and once each by 2 processes. Some of them release the
GIL while they work or wait: time.sleep, a read from a file, a socket waiting
for a reply, hashlib on a large buffer, and zlib, bz2 and lzma compressing data.
Two hold it: a pure-Python loop, and hashlib called on small buffers in a Python
loop. Threads speed up the first kind and not the second; processes speed up
both, where a core is free. Waiting needs no core, so sleeping and waiting
threads overlap even on one core; hashing, compressing and copying a file's
bytes are work, and two threads doing them at once need a second core. Every
round also measures how many cores' worth of Python code the machine ran at once
(its capacity), so that a busy machine shows as one.

Run it::

    python gil_release.py            # about 3 seconds on 2 cores
    python gil_release.py --quick    # about a second
    python gil_release.py --json     # machine-readable results
    python gil_release.py --repeats 21 --job-ms 20

Standard library only.
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import hashlib
import json
import lzma
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
import zlib
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from typing import Any, Callable

CLAIM = (
    "Threads run at the same time while the GIL is released (sleeping, I/O, hashing "
    "large buffers, compressing), but take turns on Python code and small C calls."
)

# name, label, what it does with the GIL (waits / computes / holds)
WORKLOADS: list[tuple[str, str, str]] = [
    ("sleep", "time.sleep", "waits"),
    ("socket", "socket waiting for a reply", "waits"),
    ("file", "reading a cached file", "computes"),
    ("hash-large", "sha256 of 1 MiB buffers", "computes"),
    ("zlib", "zlib.compress", "computes"),
    ("bz2", "bz2.compress", "computes"),
    ("lzma", "lzma.compress", "computes"),
    ("python", "pure-Python loop", "holds"),
    ("hash-small", "sha256 of 64-byte buffers in a loop", "holds"),
]
WAYS = [
    ("sequential", "sequential", 1),
    ("threads-2", "2 threads", 2),
    ("processes-2", "2 processes", 2),
]
LARGE = 1 << 20  # bytes hashed per call in "hash-large", far above hashlib's threshold
SMALL = 64  # bytes hashed per call in "hash-small", far below it
CHUNK = 32 * 1024  # bytes compressed, or read from the file, per call

_cache: dict[str, Any] = {}  # per process: the data the jobs work on, made once


def text(size: int) -> bytes:
    """Compressible bytes that are not trivially repetitive: numbers written out."""
    if "text" not in _cache:
        numbers = " ".join(str(i * 7919 % 100_003) for i in range(40_000)).encode()
        _cache["text"] = numbers
    data: bytes = _cache["text"]
    return (data * (size // len(data) + 1))[:size]


def buffer(name: str, size: int) -> Any:
    key = f"{name}-{size}"
    if key not in _cache:
        _cache[key] = text(size)
    return _cache[key]


def count_down(n: int) -> int:
    """Pure Python: holds the GIL from start to end."""
    while n > 0:
        n -= 1
    return n


def job(name: str, size: float, path: str = "") -> None:
    """One share of a workload; `size` (seconds, or a count) was calibrated to take a job's time."""
    count = int(size)
    if name == "sleep":
        time.sleep(size)  # the GIL is released while the thread sleeps
    elif name == "socket":
        ours, theirs = socket.socketpair()
        with ours, theirs:
            ours.settimeout(size)  # the peer stays silent: recv() waits, without the GIL
            with contextlib.suppress(socket.timeout):
                ours.recv(1)
    elif name == "file":
        into = bytearray(CHUNK)  # one per call: threads must not share it
        with open(path, "rb", buffering=0) as file:
            for _ in range(count):
                file.seek(0)
                while file.readinto(into):  # each read() copies without the GIL
                    pass
    elif name == "hash-large":
        data = buffer("data", LARGE)
        for _ in range(count):
            hashlib.sha256(data).digest()
    elif name in ("zlib", "bz2", "lzma"):
        data = buffer("data", CHUNK)
        compressors: dict[str, Callable[[bytes], bytes]] = {
            "zlib": zlib.compress,
            "bz2": bz2.compress,
            "lzma": lambda d: lzma.compress(d, preset=1),
        }
        compress = compressors[name]
        for _ in range(count):
            compress(data)
    elif name == "python":
        count_down(count)
    elif name == "hash-small":
        data = buffer("data", SMALL)
        for _ in range(count):
            hashlib.sha256(data).digest()
    else:
        raise ValueError(name)


def warm_up() -> None:
    for _ in range(20):
        count_down(1_000)


def seconds(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def calibrate(name: str, target: float, path: str) -> float:
    """The size of one share of `name` that takes about `target` seconds here."""
    if name in ("sleep", "socket"):
        return target
    count = 1
    while True:
        elapsed = min(seconds(partial(job, name, count, path)) for _ in range(2))
        if elapsed >= target / 4 or count >= 1 << 24:
            break
        count *= 4 if elapsed < target / 16 else 2
    return max(1, round(count * target / elapsed))


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        return os.cpu_count() or 1


def capacity_probe(pool: Executor, share: int, cores: int) -> float:
    """How many cores' worth of Python code the machine ran at once, just now."""
    one = seconds(lambda: pool.submit(count_down, share).result())
    many = seconds(lambda: list(pool.map(count_down, [share] * cores)))
    return cores * one / many


def summarise(variant: str, label: str, values: list[float], **extra: Any) -> dict[str, Any]:
    return {
        "variant": variant,
        "label": label,
        **extra,
        "seconds": values,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def measure(
    target: float, repeats: int, path: str
) -> tuple[list[Any], dict[str, Any], dict[str, float]]:
    """Time every workload in every way, once per round, after an untimed warm-up round."""
    cores = usable_cores()
    # Processes first, before this process starts any thread (forking a threaded
    # process is unsafe); its first job starts every worker.
    processes = ProcessPoolExecutor(max_workers=max(2, cores), initializer=warm_up)
    threads = ThreadPoolExecutor(max_workers=2)
    try:
        processes.submit(warm_up).result()
        sizes = {name: calibrate(name, target, path) for name, _, _ in WORKLOADS}
        probe_share = max(1, int(sizes["python"]))

        def way(name: str, how: str) -> Callable[[], float]:
            share = (name, sizes[name], path)
            if how == "sequential":

                def both() -> None:
                    job(*share)
                    job(*share)

                return lambda: seconds(both)
            pool: Executor = threads if how == "threads-2" else processes
            return lambda: seconds(lambda: list(pool.map(job, *zip(share, share))))

        jobs = {f"{n}/{h}": way(n, h) for n, _, _ in WORKLOADS for h, _, _ in WAYS}
        jobs["capacity"] = lambda: capacity_probe(processes, probe_share, cores)
        for run in jobs.values():
            run()  # warm-up
        results: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(repeats):
            for name, run in jobs.items():
                results[name].append(run())
    finally:
        threads.shutdown()
        processes.shutdown()
    capacity = summarise("capacity", "capacity", results.pop("capacity"), cores=cores)
    labels = {n: label for n, label, _ in WORKLOADS}
    timings = [
        summarise(
            f"{n}/{h}", f"{labels[n]}, {way_label}", results[f"{n}/{h}"], workload=n, way=h,
            workers=workers,
        )
        for n, _, _ in WORKLOADS
        for h, way_label, workers in WAYS
    ]  # fmt: skip
    return timings, capacity, sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (about a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--repeats", type=int, help="timed rounds")
    parser.add_argument("--job-ms", type=float, help="milliseconds of one share of a job")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.job_ms is not None and not 0.5 <= args.job_ms <= 10_000:
        parser.error("--job-ms must be between 0.5 and 10000")
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.job_ms = args.job_ms or (3.0 if args.quick else 5.0)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warm_up()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "data.bin")
        with open(path, "wb") as file:
            file.write(text(16 * CHUNK))
        timings, capacity, sizes = measure(args.job_ms / 1000, args.repeats, path)
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    workloads = [
        {"name": n, "label": label, "gil": gil, "baseline": f"{n}/sequential"}
        for n, label, gil in WORKLOADS
    ]
    if args.json:
        document = {
            "example": "gil_release",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {"job_ms": args.job_ms, "repeats": args.repeats, "quick": args.quick},
            "baseline": workloads[0]["baseline"],  # each workload has its own, see "workloads"
            "interleaved": True,  # the i-th time of every variant comes from round i
            "workloads": workloads,
            "sizes": sizes,
            "timings": timings,
            "capacity": capacity,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    by_name = {t["variant"]: t for t in timings}
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}), {usable_cores()} usable cores, {args.repeats} rounds")
    print(f"{'workload':<38}{'sequential':>12}{'2 threads':>11}{'2 processes':>13}")
    for w in workloads:
        base = by_name[w["baseline"]]["seconds"]

        def speedup(how: str, base: list[float] = base, name: str = w["name"]) -> str:
            other = by_name[f"{name}/{how}"]["seconds"]
            return f"{statistics.median(b / o for b, o in zip(base, other)):.2f}x"

        sequential = f"{statistics.median(base) * 1000:.1f} ms"
        print(
            f"{w['label']:<38}{sequential:>12}{speedup('threads-2'):>11}{speedup('processes-2'):>13}"
        )
    print(f"capacity: {capacity['median']:.2f} of {capacity['cores']} cores ran Python at once")


if __name__ == "__main__":
    main()
