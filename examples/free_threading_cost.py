"""What one thread pays for a build without the GIL: time a few pure-Python workloads.

Six small workloads (function calls, attribute access, dict work, list work,
object creation, a generator pipeline) run one after another in one thread,
round after round. Run the script under a free-threaded CPython and under the
default build of the same version, and compare: the difference is what free
threading costs code that never starts a thread. Each workload is timed many
times; the fastest time is the estimate to compare, because a busy machine can
only ever add time to a run, never take it away. The median and the slowest
run show how noisy the machine was.

Run it::

    python free_threading_cost.py            # about a second
    python free_threading_cost.py --quick    # well under a second
    python free_threading_cost.py --json     # machine-readable results
    python3.13t free_threading_cost.py; python3.13 free_threading_cost.py

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any, Callable

CLAIM = (
    "A free-threaded CPython runs single-threaded pure-Python code slower than "
    "the default build of the same version."
)
SIZE = 8_000  # the work in one timed run of a workload: about half a millisecond


def add(a: int, b: int) -> int:
    return a + b


def calls() -> int:
    total = 0
    for i in range(SIZE):
        total = add(total, i)
    return total


class Point:
    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y


def attributes() -> float:
    p = Point(0.0, 1.0)
    for _ in range(SIZE):
        p.x = p.x + p.y
        p.y = p.x - p.y
    return p.x


WORDS = [f"word{i % 97}" for i in range(SIZE)]


def dicts() -> int:
    counts: dict[str, int] = {}
    for word in WORDS:
        counts[word] = counts.get(word, 0) + 1
    return len(counts)


def lists() -> int:
    items = []
    for i in range(SIZE):
        items.append(i % 10)
    total = 0
    for i in range(0, SIZE, 2):
        total += items[i] * items[i + 1]
    return total


def objects() -> int:
    made = [Point(i, i) for i in range(SIZE // 2)]
    return len(made)


def evens(numbers: range) -> Iterator[int]:
    for n in numbers:
        if n % 2 == 0:
            yield n


def generators() -> int:
    return sum(n * n for n in evens(range(SIZE)))


WORKLOADS: list[tuple[str, str, Callable[[], object]]] = [
    ("calls", "function calls", calls),
    ("attributes", "attribute reads and writes", attributes),
    ("dicts", "dict lookups and updates", dicts),
    ("lists", "list appends and indexing", lists),
    ("objects", "creating objects", objects),
    ("generators", "a generator pipeline", generators),
]


def summarise(values: list[float]) -> dict[str, Any]:
    return {"seconds": values, "median": statistics.median(values), "min": min(values),
            "max": max(values)}  # fmt: skip


def measure(repeats: int) -> list[dict[str, Any]]:
    """Every workload once per round, for `repeats` rounds, after a few untimed rounds."""
    seconds: dict[str, list[float]] = {name: [] for name, _, _ in WORKLOADS}
    for round_ in range(-3, repeats):  # the first rounds warm up (specialisation, a JIT)
        for name, _, workload in WORKLOADS:
            began = time.perf_counter()
            workload()
            elapsed = time.perf_counter() - began
            if round_ >= 0:
                seconds[name].append(elapsed)
    return [
        {"variant": name, "label": label, **summarise(seconds[name])}
        for name, label, _ in WORKLOADS
    ]


def geometric_means(timings: list[dict[str, Any]]) -> dict[str, float]:
    """The geometric mean over the workloads of each statistic. Divided by the same
    figure of another interpreter, it gives the geometric mean of the per-workload ratios."""
    return {
        key: statistics.geometric_mean([t[key] for t in timings])
        for key in ("min", "median", "max")
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--repeats", type=int, help="timed rounds (every workload once each)")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.repeats is None:
        args.repeats = 21 if args.quick else 61
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    timings = measure(args.repeats)
    means = geometric_means(timings)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "free_threading_cost",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {"size": SIZE, "repeats": args.repeats, "quick": args.quick},
            "baseline": WORKLOADS[0][0],
            "estimator": "min",
            "timings": timings,
            "geometric_mean": means,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    print(f"{platform.python_implementation()} {platform.python_version()} (GIL {gil})")
    print(f"{args.repeats} rounds; fastest run, then median (fastest to slowest), in ms:")
    for row in timings:
        print(
            f"  {row['label']:<28} {row['min'] * 1e3:7.3f}   {row['median'] * 1e3:7.3f} "
            f"({row['min'] * 1e3:.3f} to {row['max'] * 1e3:.3f})"
        )
    print(f"  {'geometric mean':<28} {means['min'] * 1e3:7.3f}   {means['median'] * 1e3:7.3f}")
    print("Run it under another interpreter and divide: that ratio is the cost.")


if __name__ == "__main__":
    main()
