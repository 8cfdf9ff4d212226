"""Beside a CPU-bound thread, a thread that answers requests waits its turn for the GIL.

A server thread echoes one byte at a time over a socket pair; alone, a round
trip takes microseconds. Start a thread that runs a pure-Python loop beside it,
and every time the server or the client wakes up from the socket, or returns
from sending on it, it needs the GIL back from the loop. A thread that wants the
GIL waits up to the switch interval (``sys.getswitchinterval()``, 5 ms by
default) and only then asks the running thread to let go, so a round trip can
wait a switch interval each time one of them needs the GIL back. Shorter
intervals cut the wait and cost the loop more switches. On a free-threaded build
with the GIL off, nothing waits for the lock and the interval hardly matters.

Run it::

    python switch_interval_convoy.py            # about 3 seconds
    python switch_interval_convoy.py --quick    # well under a second
    python switch_interval_convoy.py --json     # every round trip's time
    python switch_interval_convoy.py --intervals 0.5 1 5 20 --requests 40

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import sys
import threading
import time
from typing import Any

CLAIM = (
    "With the GIL, a thread that answers requests can wait for a CPU-bound thread a "
    "switch interval each time it needs the GIL back; without the GIL it does not wait "
    "for a lock."
)


class Loop(threading.Thread):
    """A thread that runs a pure-Python loop until told to stop, counting its iterations."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.iterations = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for _ in range(1000):
                pass
            self.iterations += 1000


def serve_echo(server: socket.socket) -> None:
    """Send back every byte received, until the other end closes."""
    while data := server.recv(1):
        server.sendall(data)


def round_trips(client: socket.socket, count: int) -> list[float]:
    """Seconds for each of `count` one-byte round trips to the echo thread, a
    millisecond apart, as requests from outside arrive: back-to-back round trips
    would pass the GIL between client and server without ever letting the loop in."""
    times = []
    for _ in range(count):
        time.sleep(0.001)
        start = time.perf_counter()
        client.sendall(b"x")
        client.recv(1)
        times.append(time.perf_counter() - start)
    return times


def loop_rate(loop: Loop, seconds: float) -> float:
    """The loop's iterations per second while this thread sleeps for `seconds`."""
    before, start = loop.iterations, time.perf_counter()
    time.sleep(seconds)
    return (loop.iterations - before) / (time.perf_counter() - start)


def busy_batch(client: socket.socket, count: int, interval: float) -> tuple[list[float], float]:
    """Round trips beside a running loop at this switch interval, and the share of its
    iterations per second that the loop kept, against the loop alone just before."""
    sys.setswitchinterval(interval)
    loop = Loop()
    loop.start()
    alone = loop_rate(loop, 0.03)
    before, start = loop.iterations, time.perf_counter()
    times = round_trips(client, count)
    kept = (loop.iterations - before) / (time.perf_counter() - start) / alone
    loop.stop.set()
    loop.join()
    return times, kept


def summarise(name: str, label: str, interval: float | None, times: list[float]) -> dict[str, Any]:
    centiles = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "variant": name,
        "label": label,
        "interval": interval,
        "seconds": times,
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "p90": centiles[89],
        "p99": centiles[98],
    }


def measure(intervals: list[float], requests: int, rounds: int) -> list[dict[str, Any]]:
    """Round trips alone and beside a loop at each interval, `rounds` interleaved rounds
    of `requests` each, so that a change in the machine's speed hits every variant."""
    default = sys.getswitchinterval()
    client, server = socket.socketpair()
    echo = threading.Thread(target=serve_echo, args=(server,), daemon=True)
    echo.start()
    round_trips(client, 50)  # warm-up
    alone: list[float] = []
    busy: dict[float, list[float]] = {i: [] for i in intervals}
    kept: dict[float, list[float]] = {i: [] for i in intervals}
    try:
        for _ in range(rounds):
            sys.setswitchinterval(default)
            alone += round_trips(client, requests)
            for interval in intervals:
                times, share = busy_batch(client, requests, interval)
                busy[interval] += times
                kept[interval].append(share)
    finally:
        sys.setswitchinterval(default)
        client.close()  # the echo thread's recv returns b"" and it ends
        echo.join()
        server.close()
    timings = [summarise("alone", "echo alone", None, alone)]
    for interval in intervals:
        row = summarise(
            f"busy-{interval * 1000:g}ms",
            f"beside a CPU-bound thread, switch interval {interval * 1000:g} ms",
            interval,
            busy[interval],
        )
        row["loop_kept"] = kept[interval]
        row["loop_kept_median"] = statistics.median(kept[interval])
        timings.append(row)
    return timings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--intervals", type=float, nargs="+", help="switch intervals in milliseconds"
    )
    parser.add_argument("--requests", type=int, help="round trips per variant and round")
    parser.add_argument("--rounds", type=int, help="interleaved rounds")
    args = parser.parse_args(argv)
    if args.intervals is not None and min(args.intervals) <= 0:
        parser.error("--intervals must be positive")
    for option in ("requests", "rounds"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    default = [1.0, 5.0] if args.quick else [0.5, 1.0, 2.0, 5.0]
    args.intervals = [ms / 1000 for ms in (args.intervals or default)]
    args.requests = args.requests or (10 if args.quick else 40)
    args.rounds = args.rounds or (2 if args.quick else 4)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    default = sys.getswitchinterval()
    timings = measure(args.intervals, args.requests, args.rounds)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "switch_interval_convoy",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "default_switch_interval": default,
            "parameters": {
                "requests": args.requests,
                "rounds": args.rounds,
                "repeats": args.requests * args.rounds,
                "quick": args.quick,
            },
            "baseline": "alone",
            "interleaved": True,
            "timings": timings,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}), default switch interval {default * 1000:g} ms")
    print(f"{args.requests * args.rounds} one-byte round trips per line")
    print(f"{'':<46}{'median':>10}{'90th pct':>10}{'99th pct':>10}{'loop kept':>11}")
    for row in timings:
        kept = f"{row['loop_kept_median']:.0%}" if "loop_kept_median" in row else ""
        cells = "".join(f"{row[k] * 1000:>8.3f}ms" for k in ("median", "p90", "p99"))
        print(f"{row['label']:<46}{cells}{kept:>11}")


if __name__ == "__main__":
    main()
