"""The GIL never made ``counter += 1`` thread-safe: threads lose updates without a lock.

Several threads add 1 to one shared counter many times each, in three ways:

* unsafe: ``box.count += 1``, which reads the counter, adds 1 and writes it back;
* unsafe, with a call: ``box.count = plus_one(box.count)``, the same read, add
  and write with a function call between the read and the write;
* locked: ``with lock: box.count += 1``.

An update is lost when a thread writes back a value that another thread has
changed since it was read. With the GIL, CPython 3.10 and later switch threads
only at certain points (at calls, and at the jump back at the end of a loop
iteration: bpo-29988), so the plain version rarely loses anything there: not
because it is safe, but because no switch point falls inside it. The call adds
one. On a free-threaded
build the threads run at the same time and the plain version loses updates
too. Only the lock is correct everywhere, and the script measures what it costs.

Run it::

    python race_adding_one.py             # a few seconds
    python race_adding_one.py --quick     # a second or two
    python race_adding_one.py --json      # machine-readable results
    python race_adding_one.py --threads 4 --increments 1000000 --repeats 5

Standard library only.
"""

from __future__ import annotations

import argparse
import dis
import io
import json
import platform
import statistics
import sys
import threading
import time
from typing import Any, Callable

CLAIM = (
    "The GIL does not make read-modify-write operations such as counter += 1 "
    "thread-safe; only a lock does."
)


class Box:
    """The shared counter."""

    def __init__(self) -> None:
        self.count = 0


def plus_one(value: int) -> int:
    return value + 1


def add_unsafe(box: Box, increments: int, lock: threading.Lock) -> None:
    for _ in range(increments):
        box.count += 1


def add_with_call(box: Box, increments: int, lock: threading.Lock) -> None:
    for _ in range(increments):
        box.count = plus_one(box.count)


def add_locked(box: Box, increments: int, lock: threading.Lock) -> None:
    for _ in range(increments):
        with lock:
            box.count += 1


VARIANTS: dict[str, tuple[str, Callable[[Box, int, threading.Lock], None]]] = {
    "unsafe": ("count += 1", add_unsafe),
    "call": ("count = plus_one(count)", add_with_call),
    "locked": ("with lock: count += 1", add_locked),
}


def race(adder: Callable[[Box, int, threading.Lock], None], threads: int, increments: int
         ) -> tuple[int, float]:  # fmt: skip
    """Let `threads` threads run `adder` at once; return the final count and the seconds."""
    box, lock = Box(), threading.Lock()
    start_together = threading.Barrier(threads)

    def work() -> None:
        start_together.wait()
        adder(box, increments, lock)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return box.count, time.perf_counter() - start


def measure(threads: int, increments: int, repeats: int) -> list[dict[str, Any]]:
    """Race every variant `repeats` times and count the lost updates."""
    expected = threads * increments
    results = []
    for name, (label, adder) in VARIANTS.items():
        race(adder, threads, min(increments, 1_000))  # warm-up
        counts, seconds = [], []
        for _ in range(repeats):
            count, elapsed = race(adder, threads, increments)
            counts.append(count)
            seconds.append(elapsed)
        lost = [expected - count for count in counts]
        results.append(
            {
                "variant": name,
                "label": label,
                "expected": expected,
                "counts": counts,
                "lost": lost,
                "lost_median": statistics.median(lost),
                "lost_min": min(lost),
                "lost_max": max(lost),
                "seconds": seconds,
                "median": statistics.median(seconds),
                "min": min(seconds),
                "max": max(seconds),
            }
        )
    return results


a = 2


def add_one() -> None:
    """The talk's worked example: ``a = a + 1`` on a global."""
    global a
    a = a + 1


def bytecode() -> str:
    """What this interpreter's compiler made of ``a = a + 1``."""
    listing = io.StringIO()
    dis.dis(add_one, file=listing)
    return listing.getvalue()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (about a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--threads", type=int, default=2, help="threads per race")
    parser.add_argument("--increments", type=int, help="additions per thread")
    parser.add_argument("--repeats", type=int, help="races per variant")
    args = parser.parse_args(argv)
    counts = {"--threads": args.threads, "--increments": args.increments, "--repeats": args.repeats}
    for option, count in counts.items():
        if count is not None and count < 1:
            parser.error(f"{option} must be at least 1")
    args.increments = args.increments or (400_000 if args.quick else 1_000_000)
    args.repeats = args.repeats or (3 if args.quick else 5)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results = measure(args.threads, args.increments, args.repeats)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "race_adding_one",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {
                "threads": args.threads,
                "increments": args.increments,
                "repeats": args.repeats,
                "quick": args.quick,
            },
            "baseline": "unsafe",
            "timings": results,
            "bytecode": bytecode(),
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    print(f"{platform.python_implementation()} {platform.python_version()} (GIL {gil})")
    print(f"{args.threads} threads add 1 {args.increments:,} times each, {args.repeats} races:")
    for row in results:
        print(
            f"  {row['label']:<26} lost {row['lost_min']:,} to {row['lost_max']:,} "
            f"of {row['expected']:,} updates, {row['median']:.3f} s"
        )
    print("\nBytecode of a = a + 1:")
    print(bytecode())


if __name__ == "__main__":
    main()
