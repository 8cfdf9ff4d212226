"""Tasks that wait overlap on one thread: many sleeping tasks finish in about the time of one.

A coroutine function is started with ``fn()`` and runs only when an event loop
drives it. ``asyncio.gather(fn(), fn(), fn())`` wraps each coroutine in a task;
the loop runs each task until its first ``await`` of something that is not
ready, so every task prints "a" before any prints "b", and the three waits
overlap: the whole takes about as long as one. Awaiting the same coroutines one
after another prints "ab" three times and takes three times as long. The
script times one task alone, three tasks awaited in turn, and gather with
3, 100 and 1000 tasks, in interleaved rounds, and keeps what each printed.

Run it::

    python gather_overlap.py            # about a second
    python gather_overlap.py --quick    # a fraction of a second
    python gather_overlap.py --json     # every timing and what each variant printed
    python gather_overlap.py --sleep 100 --tasks 3 10000

Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

CLAIM = (
    "Tasks that wait overlap on one thread: N tasks that each sleep for d finish in "
    "about d, not N times d, without any parallelism."
)


async def fn(out: io.StringIO, seconds: float) -> None:
    """The talk's coroutine: print "a", wait, print "b"."""
    print("a", end="", file=out)
    await asyncio.sleep(seconds)
    print("b", end="", file=out)


async def one_task(out: io.StringIO, seconds: float, tasks: int) -> None:
    await fn(out, seconds)


async def in_turn(out: io.StringIO, seconds: float, tasks: int) -> None:
    """Each coroutine awaited before the next one starts."""
    for _ in range(tasks):
        await fn(out, seconds)


async def gathered(out: io.StringIO, seconds: float, tasks: int) -> None:
    """All coroutines wrapped in tasks at once, as the talk does with three."""
    await asyncio.gather(*(fn(out, seconds) for _ in range(tasks)))


Way = Callable[[io.StringIO, float, int], Awaitable[None]]


def described(printed: str) -> str:
    """What was printed: as it is when short, else as runs ("1000 'a', then 1000 'b'")."""
    if len(printed) <= 12:
        return printed
    runs = [(char, len(list(group))) for char, group in itertools.groupby(printed)]
    return ", then ".join(f"{count} {char!r}" for char, count in runs)


def time_variant(way: Way, seconds: float, tasks: int) -> tuple[float, str]:
    """Seconds from starting the event loop's work to the last task's end, and the output."""
    out = io.StringIO()

    async def timed() -> float:
        start = time.perf_counter()
        await way(out, seconds, tasks)
        return time.perf_counter() - start

    return asyncio.run(timed()), out.getvalue()


def measure(seconds: float, sizes: list[int], rounds: int) -> list[dict[str, Any]]:
    """Every variant once per round, after an untimed warm-up round of one-millisecond sleeps."""
    variants: list[tuple[str, str, Way, int]] = [
        ("one", "one task", one_task, 1),
        ("awaited-3", "3 coroutines, each awaited in turn", in_turn, 3),
    ]
    variants += [(f"gather-{n}", f"{n} tasks with asyncio.gather", gathered, n) for n in sizes]
    times: dict[str, list[float]] = {name: [] for name, *_ in variants}
    printed: dict[str, list[str]] = {name: [] for name, *_ in variants}
    for round_ in range(rounds + 1):
        for name, _, way, tasks in variants:
            elapsed, output = time_variant(way, seconds if round_ else 0.001, tasks)
            if round_:  # round 0 warms up
                times[name].append(elapsed)
                printed[name].append(described(output))
    return [
        {
            "variant": name,
            "label": label,
            "tasks": tasks,
            "outputs": list(dict.fromkeys(printed[name])),  # each distinct output once
            "seconds": times[name],
            "median": statistics.median(times[name]),
            "min": min(times[name]),
            "max": max(times[name]),
        }
        for name, label, _, tasks in variants
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--sleep", type=float, help="each task's sleep in milliseconds")
    parser.add_argument("--tasks", type=int, nargs="+", help="task counts for gather")
    parser.add_argument("--rounds", type=int, help="interleaved timed rounds")
    args = parser.parse_args(argv)
    if args.sleep is not None and not 0 < args.sleep <= 10_000:
        parser.error("--sleep must be above 0 and at most 10000 (milliseconds)")
    if args.tasks is not None and min(args.tasks) < 1:
        parser.error("--tasks must be at least 1")
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.sleep = (args.sleep or (15.0 if args.quick else 25.0)) / 1000
    args.tasks = list(dict.fromkeys(args.tasks or [3, 100, 1000]))
    args.rounds = args.rounds or (2 if args.quick else 3)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    timings = measure(args.sleep, args.tasks, args.rounds)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "gather_overlap",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {
                "sleep": args.sleep,
                "tasks": args.tasks,
                "repeats": args.rounds,
                "quick": args.quick,
            },
            "baseline": "one",
            "interleaved": True,  # the i-th time of every variant comes from round i
            "timings": timings,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}); every task sleeps {args.sleep * 1000:g} ms")
    print(f"{'':<38}{'median':>10}{'min to max':>22}  printed")
    for row in timings:
        spread = f"{row['min'] * 1000:.1f} to {row['max'] * 1000:.1f} ms"
        median = f"{row['median'] * 1000:.1f} ms"
        print(f"{row['label']:<38}{median:>10}{spread:>22}  {' / '.join(row['outputs'])}")


if __name__ == "__main__":
    main()
