"""A thread that only wants to wake up on time still waits its turn for the GIL.

A heartbeat thread wakes up every few milliseconds while the main thread runs
CPU-bound pure-Python code, and records how late each beat woke (when it woke
minus when it was due). Beside an idle main thread, a beat is late by the
operating system's wake-up time alone. Beside a busy one, on a build with the
GIL, a woken beat must get the GIL back, and waits up to the switch interval
(``sys.getswitchinterval()``) before it even asks; without the GIL it needs
only a free core. The heartbeat stops cleanly: the main thread sets a
``threading.Event``, which wakes it from ``Event.wait(timeout)`` at once, and
joins it. The script also times stopping a thread that sleeps between checks
of a shared flag, starting a thread, and handing a call to a
``ThreadPoolExecutor``, and reports the default stack and pool sizes.

Run it::

    python heartbeat_thread.py              # about 3 seconds
    python heartbeat_thread.py --quick      # about a second
    python heartbeat_thread.py --json       # every beat's lateness
    python heartbeat_thread.py --interval 10 --beats 50 --rounds 3

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

CLAIM = (
    "With the GIL, a heartbeat thread beside CPU-bound Python code wakes up late, by about "
    "a switch interval, because it must get the GIL back; without the GIL, and with a core "
    "to spare, it wakes almost as on time as beside an idle main thread."
)


class Heartbeat(threading.Thread):
    """Beats every `interval` seconds until `stop` is set, recording how late each beat woke."""

    def __init__(self, interval: float, wanted: int) -> None:
        super().__init__(name="heartbeat")
        self.interval, self.wanted = interval, wanted
        self.stop = threading.Event()  # set by the main thread: stop now
        self.enough = threading.Event()  # set here once `wanted` beats are recorded
        self.late: list[float] = []

    def run(self) -> None:
        while True:
            due = time.perf_counter() + self.interval
            # True as soon as `stop` is set, False once the interval is over: unlike
            # time.sleep(), the wait ends early when the main thread asks it to stop.
            if self.stop.wait(self.interval):
                return
            self.late.append(time.perf_counter() - due)  # a real heartbeat is sent here
            if len(self.late) == self.wanted:
                self.enough.set()


def spin(until: threading.Event, deadline: float) -> int:
    """The main thread's expensive work: a pure-Python loop, until `until` is set."""
    total = 0
    while not until.is_set() and time.perf_counter() < deadline:
        for i in range(1000):
            total += i
    return total


def beats(interval: float, wanted: int, busy: bool, limit: float) -> list[float]:
    """The lateness of up to `wanted` beats beside a busy or an idle main thread, for at
    most `limit` seconds (and two beats at least)."""
    heartbeat = Heartbeat(interval, wanted)
    heartbeat.start()
    deadline = time.perf_counter() + limit
    while len(heartbeat.late) < 2 or time.perf_counter() < deadline:
        if busy:
            spin(heartbeat.enough, deadline)
        elif heartbeat.enough.wait(max(deadline - time.perf_counter(), interval)):
            break
        if heartbeat.enough.is_set():
            break
    heartbeat.stop.set()
    heartbeat.join()
    return heartbeat.late[:wanted]


def flag_heartbeat(shared: dict[str, bool], interval: float) -> None:
    """A heartbeat stopped by a flag in a shared dict, checked between sleeps."""
    while shared["continue"]:
        time.sleep(interval)  # a real heartbeat is sent here


def time_stopping(interval: float, rng: random.Random, flag: bool) -> float:
    """Seconds from asking a heartbeat to stop, at a random moment, to join() returning:
    by clearing the shared flag, or by setting the Heartbeat's Event."""
    shared, heartbeat = {"continue": True}, Heartbeat(interval, wanted=0)
    thread = threading.Thread(target=flag_heartbeat, args=(shared, interval)) if flag else heartbeat
    thread.start()
    time.sleep(interval * (1 + rng.random()))
    start = time.perf_counter()
    if flag:
        shared["continue"] = False
    else:
        heartbeat.stop.set()
    thread.join()
    return time.perf_counter() - start


def nothing() -> None:
    """The whole work of a thread that is started only to time starting it."""


def start_and_join() -> float:
    start = time.perf_counter()
    thread = threading.Thread(target=nothing)
    thread.start()
    thread.join()
    return time.perf_counter() - start


def through_pool(pool: ThreadPoolExecutor) -> float:
    start = time.perf_counter()
    pool.submit(nothing).result()
    return time.perf_counter() - start


def count_down(n: int) -> int:
    while n:
        n -= 1
    return n


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        return os.cpu_count() or 1


def time_capacity(pool: ProcessPoolExecutor, share: int, width: int) -> float:
    """How many cores' worth of Python code `width` processes ran at once, just now:
    one process counts down a share, then `width` processes a share each."""
    start = time.perf_counter()
    pool.submit(count_down, share).result()
    one = time.perf_counter() - start
    start = time.perf_counter()
    list(pool.map(count_down, [share] * width))
    return width * one / (time.perf_counter() - start)


def summarise(variant: str, label: str, seconds: list[float], **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"variant": variant, "label": label, "seconds": seconds, **extra}
    row.update(median=statistics.median(seconds), min=min(seconds), max=max(seconds))
    if len(seconds) > 1:
        centiles = statistics.quantiles(seconds, n=100, method="inclusive")
        row.update(p90=centiles[89], p99=centiles[98])
    return row


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every variant once per round, so that a change in the machine's speed hits them all.

    The process pool for the capacity probe runs its first job before any thread
    starts: with the fork start method it then starts all its workers, and forking
    a process that runs threads can deadlock the child.
    """
    interval, width = args.interval, min(2, usable_cores())
    # A window's time limit: with the GIL each beat waits about a switch interval on top.
    switch = getattr(sys, "getswitchinterval", lambda: 0.005)()
    limit = 1.5 * args.beats * (interval + switch)
    rng = random.Random(1)
    late: dict[str, list[float]] = {"idle": [], "busy": []}
    cut = {"idle": 0, "busy": 0}  # rounds whose window ended at its time limit
    stops: dict[str, list[float]] = {"event": [], "flag": []}
    costs: dict[str, list[float]] = {"thread": [], "pool": []}
    capacity: list[float] = []
    with ProcessPoolExecutor(max_workers=width) as processes:
        start = time.perf_counter()
        processes.submit(count_down, 200_000).result()  # starts the workers
        share = int(200_000 * args.share / max(time.perf_counter() - start, 1e-4))
        time_capacity(processes, share, width)  # warm-up
        with ThreadPoolExecutor(max_workers=1) as pool:
            for warm_up in (False, True):
                beats(interval, 5, warm_up, 10 * interval)
                time_stopping(interval, rng, warm_up)
            start_and_join()
            through_pool(pool)
            for r in range(args.rounds):
                capacity.append(time_capacity(processes, share, width))
                got = {}
                for busy in (r % 2 == 1, r % 2 == 0):  # alternate which goes first
                    name = "busy" if busy else "idle"
                    got[name] = beats(interval, args.beats, busy, limit)
                    cut[name] += len(got[name]) < args.beats
                kept = min(len(g) for g in got.values())  # as many of each in every round
                for name in late:
                    late[name] += got[name][:kept]
                for flag, name in ((False, "event"), (True, "flag")):
                    stops[name].append(time_stopping(args.stop_interval, rng, flag))
                costs["thread"] += [start_and_join() for _ in range(args.starts)]
                costs["pool"] += [through_pool(pool) for _ in range(args.starts)]
    return {
        "timings": [
            summarise("idle", "main thread idle", late["idle"], rounds_cut=cut["idle"]),
            summarise("busy", "main thread in a Python loop", late["busy"], rounds_cut=cut["busy"]),
        ],
        "stopping": [
            summarise("event", "Event.set(), then join()", stops["event"]),
            summarise("flag", "shared flag cleared, then join()", stops["flag"]),
        ],
        "thread_costs": [
            summarise("thread", "start and join a new thread", costs["thread"]),
            summarise("pool", "submit to a pool's waiting thread, get the result", costs["pool"]),
        ],
        "capacity": {"cores": width, **summarise("capacity", "capacity", capacity)},
    }


def observations() -> list[dict[str, Any]]:
    """Facts about threads on this interpreter and machine."""
    switch = getattr(sys, "getswitchinterval", lambda: None)()
    stack: float | None = None  # the C library's default stack for a new thread
    if platform.libc_ver()[0] == "glibc" and threading.stack_size() == 0:
        import resource  # POSIX only

        soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
        stack = None if soft == resource.RLIM_INFINITY else soft / 2**20
    with ThreadPoolExecutor() as pool:  # starts no thread until a call is submitted
        pool_size = getattr(pool, "_max_workers", None)  # a private attribute: what it chose
    process_cpu_count = getattr(os, "process_cpu_count", lambda: None)()
    found = [
        ("switch_interval_ms", "sys.getswitchinterval(), in ms", switch and switch * 1000),
        ("stack_size", "threading.stack_size() (0: the default)", threading.stack_size()),
        ("glibc_stack_mib", "glibc's default thread stack (RLIMIT_STACK), MiB", stack),
        ("pool_default", "ThreadPoolExecutor() default max_workers", pool_size),
        ("cpu_count", "os.cpu_count()", os.cpu_count()),
        ("process_cpu_count", "os.process_cpu_count() (3.13 and later)", process_cpu_count),
    ]
    return [{"name": name, "label": label, "value": value} for name, label, value in found]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--interval", type=float, default=5.0, help="heartbeat interval, ms")
    parser.add_argument("--beats", type=int, help="beats per variant and round (at least 2)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds")
    parser.add_argument("--starts", type=int, help="threads started per round")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.interval) and args.interval > 0):
        parser.error("--interval must be a positive number of milliseconds")
    if args.beats is not None and args.beats < 2:
        parser.error("--beats must be at least 2")
    for option in ("rounds", "starts"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    args.interval /= 1000
    args.stop_interval = 4 * args.interval  # a heartbeat to stop: a longer sleep shows more
    args.beats = args.beats or (12 if args.quick else 30)
    args.rounds = args.rounds or (2 if args.quick else 4)
    args.starts = args.starts or (10 if args.quick else 25)
    args.share = 0.01 if args.quick else 0.015  # seconds of work per capacity share
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results = measure(args)
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    found = observations()
    if args.json:
        parameters = {"interval": args.interval, "stop_interval": args.stop_interval}
        parameters.update(beats=args.beats, rounds=args.rounds)
        kept = len(results["timings"][0]["seconds"])  # beats per variant, in every round alike
        parameters.update(starts=args.starts, repeats=kept, quick=args.quick)
        document = {"example": "heartbeat_thread", "claim": CLAIM, "gil_enabled": gil_enabled}
        document.update(parameters=parameters, baseline="idle", **results, observations=found)
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    print(f"{platform.python_implementation()} {platform.python_version()} (GIL {gil})")
    kept = len(results["timings"][0]["seconds"])
    print(f"a beat every {args.interval * 1000:g} ms, {kept} beats per line")
    print(f"{'how late each beat woke':<42}{'median':>10}{'90th pct':>10}{'99th pct':>10}")
    for row in results["timings"]:
        cells = "".join(f"{row[k] * 1000:>8.3f}ms" for k in ("median", "p90", "p99"))
        print(f"{row['label']:<42}{cells}")
    print(f"{'costs':<52}{'median':>10}")
    for row in results["stopping"] + results["thread_costs"]:
        print(f"{row['label']:<52}{row['median'] * 1e6:>8.1f}µs")
    capacity = results["capacity"]
    print(f"capacity: {capacity['median']:.2f} of {capacity['cores']} cores ran Python at once")
    for fact in found:
        print(f"{fact['label']}: {fact['value']}")


if __name__ == "__main__":
    main()
