"""A heartbeat in a child process keeps time while the parent runs Python code.

The parent starts a worker that beats every few milliseconds until the parent
sets a shared ``multiprocessing.Event``; a shared ``multiprocessing.Value``
counts the beats. Meanwhile the parent runs a pure-Python loop. A child
process runs an interpreter of its own, with a GIL of its own, so given a free
core its beats are hardly later beside the loop than with the parent idle. The
same heartbeat in a thread shares the parent's interpreter: on a build with
the GIL, every beat waits for the loop to let go of it: a switch interval
(``sys.getswitchinterval()``) or more.

Run it::

    python heartbeat_process.py            # about 2 seconds
    python heartbeat_process.py --quick    # under a second
    python heartbeat_process.py --json     # how late every beat was
    python heartbeat_process.py --period 20 --beats 25 --rounds 3

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

CLAIM = (
    "A heartbeat in a child process keeps time beside a CPU-bound parent, given a free "
    "core: the child's interpreter has a GIL of its own, where a thread shares the parent's."
)
VARIANTS = {
    "process-idle": "in a process, parent idle",
    "process-busy": "in a process, parent running a loop",
    "thread-busy": "in a thread, main thread running a loop",
}


def send_heartbeats(stop: Any, beats: Any, period: float, report: Connection) -> None:
    """Beat every `period` seconds until `stop` is set, counting the beats
    in `beats`; then send through `report` how late each beat was."""
    late = []
    due = time.perf_counter() + period
    # wait() returns False when the time is up, True as soon as stop is set.
    while not stop.wait(max(0.0, due - time.perf_counter())):
        late.append(time.perf_counter() - due)  # a real one sends a message
        with beats.get_lock():  # += reads, then writes: lock around both
            beats.value += 1
        due += period
    report.send(late)


def run_loop_until(beats: Any, count: int) -> None:
    """The parent's expensive job: a pure-Python loop, checking the count between slices."""
    while beats.value < count:
        for _ in range(1000):
            pass


def wait_until(beats: Any, count: int, period: float) -> None:
    while beats.value < count:
        time.sleep(period / 4)


def one_run(variant: str, period: float, count: int) -> tuple[list[float], float]:
    """How late the first `count` beats were, and how long the worker took to stop."""
    stop, beats = multiprocessing.Event(), multiprocessing.Value("i", 0)
    receive, send = multiprocessing.Pipe(duplex=False)
    args = (stop, beats, period, send)
    kind: Any = multiprocessing.Process if variant.startswith("process") else threading.Thread
    worker = kind(target=send_heartbeats, args=args)
    worker.start()
    if variant.endswith("busy"):
        run_loop_until(beats, count)
    else:
        wait_until(beats, count, period)
    told = time.perf_counter()
    stop.set()
    late = receive.recv()
    worker.join()
    stopped = time.perf_counter() - told
    receive.close()
    send.close()
    return late[:count], stopped


def summarise(name: str, late: list[float], stops: list[float]) -> dict[str, Any]:
    centiles = statistics.quantiles(late, n=100, method="inclusive")
    return {
        "variant": name,
        "label": VARIANTS[name],
        "seconds": late,
        "median": statistics.median(late),
        "min": min(late),
        "max": max(late),
        "p90": centiles[89],
        "p99": centiles[98],
        "stop": {
            "seconds": stops,
            "median": statistics.median(stops),
            "min": min(stops),
            "max": max(stops),
        },
    }


def measure(period: float, count: int, rounds: int) -> list[dict[str, Any]]:
    """Every variant once per round, so that a change in the machine hits them all."""
    one_run("process-idle", period, 2)  # warm-up: imports, and the start method's own start
    late: dict[str, list[float]] = {name: [] for name in VARIANTS}
    stops: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        for name in VARIANTS:
            beats, stopped = one_run(name, period, count)
            late[name] += beats
            stops[name].append(stopped)
    return [summarise(name, late[name], stops[name]) for name in VARIANTS]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--period", type=float, help="milliseconds between beats")
    parser.add_argument("--beats", type=int, help="beats per variant and round")
    parser.add_argument("--rounds", type=int, help="interleaved rounds")
    args = parser.parse_args(argv)
    if args.period is not None and args.period <= 0:
        parser.error("--period must be positive")
    for option in ("beats", "rounds"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    args.period = (args.period or 10.0) / 1000
    args.beats = args.beats or (8 if args.quick else 15)
    args.rounds = args.rounds or (2 if args.quick else 4)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    timings = measure(args.period, args.beats, args.rounds)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "heartbeat_process",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "switch_interval": sys.getswitchinterval(),
            "parameters": {
                "period": args.period,
                "beats": args.beats,
                "rounds": args.rounds,
                "repeats": args.beats * args.rounds,
                "quick": args.quick,
            },
            "baseline": "process-idle",
            "interleaved": True,
            "timings": timings,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}), a beat every {args.period * 1000:g} ms")
    print(f"how late {args.beats * args.rounds} beats were, per line:")
    print(f"{'':<42}{'median':>10}{'90th pct':>10}{'99th pct':>10}{'stopped in':>12}")
    for row in timings:
        cells = "".join(f"{row[k] * 1000:>8.3f}ms" for k in ("median", "p90", "p99"))
        print(f"{row['label']:<42}{cells}{row['stop']['max'] * 1000:>10.1f}ms")


if __name__ == "__main__":
    main()
