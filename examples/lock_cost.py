"""An uncontended lock costs as much as, or more than, the small operations it would guard.

Each variant is a loop that repeats one small operation (adding 1 to a local
variable or to an attribute, reading an attribute, appending to a list), with
and without a ``threading.Lock`` held around it, plus the lock alone and an
empty loop. Every round times every variant once, in a rotating order, and
subtracts the empty loop of the same round, so what remains is the cost of the
operation itself, in nanoseconds. Only one thread runs: no other thread ever
waits for the lock, so this is the cheapest a lock can be.

Run it::

    python lock_cost.py            # about a second
    python lock_cost.py --quick    # a fraction of a second
    python lock_cost.py --json     # machine-readable results
    python lock_cost.py --loops 200000 --repeats 31

Standard library only.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import threading
import time
from typing import Any, Callable

CLAIM = (
    "Taking and releasing an uncontended lock costs as much as, or more than, "
    "the small operations on objects that it would protect."
)


class Box:
    def __init__(self) -> None:
        self.count = 0


# Each variant takes the loop count, a Box, a list and a lock, and repeats one thing.
def empty(n: int, box: Box, items: list[int], lock: Any) -> None:
    for _ in range(n):
        pass


def add_local(n: int, box: Box, items: list[int], lock: Any) -> None:
    x = 0
    for _ in range(n):
        x += 1  # noqa: SIM113 (adding 1 is the work timed)


def add_local_with_lock(n: int, box: Box, items: list[int], lock: Any) -> None:
    x = 0
    for _ in range(n):
        with lock:
            x += 1


def add_local_acquire_release(n: int, box: Box, items: list[int], lock: Any) -> None:
    x = 0
    for _ in range(n):
        lock.acquire()
        x += 1  # noqa: SIM113
        lock.release()


def add_attribute(n: int, box: Box, items: list[int], lock: Any) -> None:
    for _ in range(n):
        box.count += 1


def add_attribute_with_lock(n: int, box: Box, items: list[int], lock: Any) -> None:
    for _ in range(n):
        with lock:
            box.count += 1


def read_attribute(n: int, box: Box, items: list[int], lock: Any) -> None:
    for _ in range(n):
        box.count  # noqa: B018 (reading it is the work timed)


def read_attribute_with_lock(n: int, box: Box, items: list[int], lock: Any) -> None:
    for _ in range(n):
        with lock:
            box.count  # noqa: B018


def append(n: int, box: Box, items: list[int], lock: Any) -> None:
    for _ in range(n):
        items.append(1)


def append_with_lock(n: int, box: Box, items: list[int], lock: Any) -> None:
    for _ in range(n):
        with lock:
            items.append(1)


def lock_alone(n: int, box: Box, items: list[int], lock: Any) -> None:
    for _ in range(n):
        with lock:
            pass


def acquire_release_alone(n: int, box: Box, items: list[int], lock: Any) -> None:
    for _ in range(n):
        lock.acquire()
        lock.release()


Loop = Callable[[int, Box, "list[int]", Any], None]
# (name, what it does, loop, the variant that does the same work without a lock)
VARIANTS: list[tuple[str, str, Loop, str]] = [
    ("empty", "empty loop (its cost per pass)", empty, ""),
    ("add_local", "x += 1 (a local)", add_local, ""),
    ("add_local_with", "x += 1 inside with lock:", add_local_with_lock, "add_local"),
    (
        "add_local_acquire",
        "x += 1 between acquire() and release()",
        add_local_acquire_release,
        "add_local",
    ),
    ("add_attribute", "box.count += 1", add_attribute, ""),
    (
        "add_attribute_with",
        "box.count += 1 inside with lock:",
        add_attribute_with_lock,
        "add_attribute",
    ),
    ("read_attribute", "box.count (a read)", read_attribute, ""),
    (
        "read_attribute_with",
        "box.count inside with lock:",
        read_attribute_with_lock,
        "read_attribute",
    ),
    ("append", "items.append(1)", append, ""),
    ("append_with", "items.append(1) inside with lock:", append_with_lock, "append"),
    ("lock_alone", "with lock: pass", lock_alone, ""),
    ("acquire_release_alone", "acquire() then release()", acquire_release_alone, ""),
]


def spread(values: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(loops: int, repeats: int) -> list[dict[str, Any]]:
    """Time every variant once per round, then turn times into nanoseconds per operation."""
    lock = threading.Lock()
    seconds: dict[str, list[float]] = {name: [] for name, _, _, _ in VARIANTS}
    for _, _, loop, _ in VARIANTS:  # warm-up: lets the interpreter specialise each loop
        loop(loops // 10, Box(), [], lock)
    gc.disable()  # as timeit does: no collection in the middle of a timed loop
    try:
        for round_ in range(repeats):
            start = round_ % len(VARIANTS)
            for name, _, loop, _ in VARIANTS[start:] + VARIANTS[:start]:
                box, items = Box(), list[int]()
                began = time.perf_counter()
                loop(loops, box, items, lock)
                seconds[name].append(time.perf_counter() - began)
    finally:
        gc.enable()
    empty_loop = seconds["empty"]
    results = []
    for name, label, _, without in VARIANTS:
        per_pass = [s / loops * 1e9 for s in seconds[name]]
        if name == "empty":
            net = per_pass
        else:  # the empty loop of the same round, subtracted
            net = [(s - e) / loops * 1e9 for s, e in zip(seconds[name], empty_loop)]
        results.append(
            {
                "variant": name,
                "label": label,
                "without_lock": without,
                "seconds": seconds[name],
                **spread(seconds[name]),
                # Nanoseconds per pass through the loop, the loop's own cost included.
                "per_pass_ns": spread(per_pass),
                # Noise only ever adds time, so the fastest round of each loop is the
                # closest to its true cost: the operation costs the difference between
                # the fastest round of its loop and the fastest round of the empty loop.
                "ns": min(per_pass) - (0.0 if name == "empty" else min(empty_loop) / loops * 1e9),
                # The same difference taken within each round: the spread it has.
                "ns_rounds": net,
            }
        )
    return results


def lock_ratios(results: list[dict[str, Any]]) -> dict[str, float]:
    """For each locked variant: (work with the lock) / (the work alone), fastest rounds."""
    by_name = {r["variant"]: r for r in results}
    return {
        row["variant"]: row["ns"] / by_name[row["without_lock"]]["ns"]
        for row in results
        if row["without_lock"] and by_name[row["without_lock"]]["ns"] > 0
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--loops", type=int, help="passes through each loop per round")
    parser.add_argument("--repeats", type=int, help="rounds (every variant once per round)")
    args = parser.parse_args(argv)
    for option in ("loops", "repeats"):
        value = getattr(args, option)
        if value is not None and value < 1:
            parser.error(f"--{option} must be at least 1")
    if args.loops is None:
        args.loops = 10_000 if args.quick else 20_000
    if args.repeats is None:
        args.repeats = 9 if args.quick else 31
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results = measure(args.loops, args.repeats)
    ratios = lock_ratios(results)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "lock_cost",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {"loops": args.loops, "repeats": args.repeats, "quick": args.quick},
            "baseline": "empty",
            "interleaved": True,
            "timings": results,
            "ratios": ratios,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    print(f"{platform.python_implementation()} {platform.python_version()} (GIL {gil})")
    print(f"{args.repeats} rounds of {args.loops:,} passes; nanoseconds per operation,")
    print("the fastest round, empty loop subtracted; then per pass, loop included:")
    print("median (fastest to slowest round)")
    for row in results:
        p = row["per_pass_ns"]
        line = (
            f"  {row['label']:<40} {row['ns']:6.1f} ns; {p['median']:6.1f} ns "
            f"({p['min']:.1f} to {p['max']:.1f})"
        )
        if row["variant"] in ratios:
            line += f"  {ratios[row['variant']]:.1f}x the work alone"
        print(line)


if __name__ == "__main__":
    main()
