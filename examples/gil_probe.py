"""A call that releases the GIL lets another thread run Python code meanwhile; one
that holds it does not, and a thread running beside it shows which.

A "ticker" thread counts in a pure-Python loop while the main thread makes the
call over and over. The ticker's speed beside the call, as a share of its speed
alone (its idle speed), is the answer: near 1, the call let it run (the call
released the GIL, or there is no GIL); near 1/2 or below, the two took turns
on the GIL. The idle speed is measured between every two calls, in
interleaved rounds, so that a change in the machine's speed hits both alike.
A busy process beside the ticker, in the same rounds, checks that the machine
had a free core: without one, the ticker and a call that releases the GIL still
share a core and take turns, and a low reading means nothing. With no argument
it probes a few known calls; give it a function of your own as
``module:function`` and its arguments as Python literals.

Run it::

    python gil_probe.py                        # the known calls, about 3 seconds
    python gil_probe.py --quick                # a second or so
    python gil_probe.py --json                 # machine-readable results
    python gil_probe.py time:sleep 0.2         # your own callable and arguments
    python gil_probe.py mypackage.module:function "'text'" 42 --seconds 5

Standard library only. It needs two usable cores to give a verdict.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import zlib
from typing import Any, Callable

CLAIM = (
    "A call that releases the GIL lets a Python thread beside it run at full speed; "
    "one that holds the GIL makes the two take turns."
)

# Verdict thresholds on the ticker's speed beside a call, as a share of its idle speed.
# A call that holds the GIL and a ticker that wants it take turns, handing it over
# every switch interval, so the ticker keeps about 1/2 of its speed (less if the call
# holds it longer). A call that releases the GIL leaves the ticker a whole core: about 1.
# The thresholds sit between the two, with room for the noise of a busy machine.
RELEASED = 0.8  # at or above: the ticker ran beside the call, so the GIL was free
HELD = 0.65  # at or below, with a free core in every round of the control: they took turns
MIB = 1 << 20
CONTROL_LABEL = "a busy process beside it"
STEPS = range(1_000)  # the ticker's steps between two updates of its count


def usable_cores() -> int:
    """The cores this process may run on (fewer than the machine has, in a container)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        return os.cpu_count() or 1


def gil_enabled() -> bool:
    """Whether the GIL is on now; an import can switch it back on in a free-threaded build."""
    return bool(getattr(sys, "_is_gil_enabled", lambda: True)())


class Ticker:
    """A thread that counts as fast as pure-Python code can, until stopped."""

    def __init__(self) -> None:
        self.count = 0
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while self.running:
            for _ in STEPS:  # count in a local loop, and publish the count now and then
                pass
            self.count += len(STEPS)

    def sample(self) -> tuple[float, int]:
        return time.perf_counter(), self.count


def rate(start: tuple[float, int], end: tuple[float, int]) -> float:
    """Ticker steps per second between two samples."""
    return (end[1] - start[1]) / (end[0] - start[0])


# The known calls. Each one is repeated until its slot of time is over.
def count_down(n: int = 20_000) -> int:
    """A pure-Python loop: it runs bytecode, so it needs the GIL all along."""
    while n > 0:
        n -= 1
    return n


def blocking_read(delay: float = 0.005) -> bytes:
    """Wait in recv() for a byte that a timer thread sends after `delay` seconds."""
    here, there = socket.socketpair()
    with here, there:
        sender = threading.Timer(delay, there.sendall, (b"x",))
        sender.start()
        data = here.recv(1)
        sender.join()
    return data


def known_cases() -> list[tuple[str, str, Callable[[], object]]]:
    """(name, label, call) for each known call. The data is made here, once."""
    text = b" ".join(b"%d" % (i * 7919 % 100_003) for i in range(180_000))[:MIB]
    small = text[:64]
    return [
        ("sleep", "time.sleep(0.005)", lambda: time.sleep(0.005)),
        ("sha256-1mib", "hashlib.sha256 of 1 MiB", lambda: hashlib.sha256(text).digest()),
        ("sha256-64b", "hashlib.sha256 of 64 bytes", lambda: hashlib.sha256(small).digest()),
        ("zlib-1mib", "zlib.compress of 1 MiB, level 1", lambda: zlib.compress(text, 1)),
        ("python-loop", "a pure-Python loop", count_down),
        ("blocking-read", "socket recv() waiting for data", blocking_read),
    ]


BUSY_CHILD = """\
import sys, time
for line in sys.stdin:
    end = time.perf_counter() + float(line)
    while time.perf_counter() < end:
        pass
    print("done", flush=True)
"""


class BusyProcess:
    """Another process that keeps one core busy with Python code when asked: the control."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", BUSY_CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def __call__(self, seconds: float) -> None:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(f"{seconds}\n")
        self.process.stdin.flush()
        self.process.stdout.readline()  # waits, with the GIL released, until it is done

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def spread(values: list[float]) -> dict[str, Any]:
    return {
        "values": values,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def probe(
    cases: list[tuple[str, str, Callable[[], object]]], slot: float, seconds: float
) -> dict[str, Any]:
    """Measure the ticker idle and beside each call, in interleaved rounds.

    A round is: idle, call 1, idle, call 2, ..., idle, busy process, idle. Each
    reading beside a call is divided by the mean of the idle readings just before
    and just after it, in the same round. Returns the readings.
    """
    idle_slot = slot / 2
    busy = BusyProcess()
    ticker = Ticker()
    try:
        busy(0.01)  # started and answering
        slow = [0.0] * len(cases)
        for i, (_, _, call) in enumerate(cases):  # warm-up, and how long one call takes
            start = time.perf_counter()
            call()
            slow[i] = time.perf_counter() - start
        slots = [max(slot, s) for s in slow]
        ticker.thread.start()
        time.sleep(idle_slot)  # let the ticker's loop warm up too
        per_round = sum(slots) + slot + idle_slot * (len(cases) + 2)
        rounds = max(3, round(seconds / per_round))
        idle: list[float] = []
        beside: list[list[float]] = [[] for _ in cases]
        calls: list[list[float]] = [[] for _ in cases]
        control: list[float] = []

        def idle_rate() -> float:
            start = ticker.sample()
            time.sleep(idle_slot)
            while ticker.count == start[1]:  # not scheduled yet: a busy machine; wait on
                time.sleep(idle_slot)
            value = rate(start, ticker.sample())
            idle.append(value)
            return value

        for _ in range(rounds):
            before = idle_rate()
            for i, (_, _, call) in enumerate(cases):
                count, first = 0, ticker.sample()
                end = first[0] + slots[i]
                while time.perf_counter() < end:
                    call()
                    count += 1
                last = ticker.sample()
                after = idle_rate()
                beside[i].append(rate(first, last) / ((before + after) / 2))
                calls[i].append((last[0] - first[0]) / count)
                before = after
            first = ticker.sample()
            busy(slot)
            last = ticker.sample()
            after = idle_rate()
            control.append(rate(first, last) / ((before + after) / 2))
    finally:
        ticker.running = False
        if ticker.thread.is_alive():
            ticker.thread.join()
        busy.close()
    return {
        "rounds": rounds,
        "idle": idle,
        "beside": beside,
        "calls": calls,
        "control": control,
        "slots": slots,
    }


def verdict(progress: float, control: float, cores: int, gil: bool) -> tuple[str, str]:
    """The verdict on one call and why, from its median reading and the control's lowest.

    A low reading means "held" only if the machine had a free core all along: the
    busy process must have left the ticker its speed in every round.
    """
    if not gil:
        return "no GIL", "the GIL was off: there was no GIL for the call to hold"
    if cores < 2:
        return "no verdict", (
            "only one usable core: the ticker and the call share it whatever the GIL does"
        )
    if progress >= RELEASED:
        return "released", f"the ticker kept at least {RELEASED} of its idle speed"
    if progress <= HELD and control >= RELEASED:
        return "held", (
            f"the ticker fell to {HELD} of its idle speed or less, although the machine "
            "had a core free for it in every round"
        )
    if progress <= HELD:
        return "unclear", (
            f"the ticker fell to {HELD} of its idle speed or less, but the control shows "
            "that the machine did not always have a free core for it"
        )
    return "unclear", f"the ticker ran between {HELD} and {RELEASED} of its idle speed"


def resolve(target: str) -> Callable[..., object]:
    """The callable named by "package.module:function" (or "module:Class.method")."""
    module_name, colon, path = target.partition(":")
    if not colon or not module_name or not path:
        raise ValueError(f"the target must look like package.module:function, not {target!r}")
    sys.path.insert(0, os.getcwd())  # find the reader's own modules, as python -m does
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 (any failure to import is the target's)
        raise ValueError(f"cannot import {module_name!r}: {first_line(error)}") from None
    for name in path.split("."):
        try:
            found = getattr(found, name)
        except AttributeError:
            raise ValueError(f"{target!r}: {module_name} has no attribute {path!r}") from None
    if not callable(found):
        raise ValueError(f"{target!r} is not callable")  # noqa: TRY004 (one kind of error)
    return found  # type: ignore[no-any-return]


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(
            f"argument {text!r} is not a Python literal (quote strings: \"'text'\")"
        ) from None


def parse_args(
    argv: list[str] | None = None,
) -> tuple[argparse.Namespace, list[tuple[str, str, Callable[[], object]]]]:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("target", nargs="?", help="a callable to probe, as module:function")
    parser.add_argument("arguments", nargs="*", help="its arguments, as Python literals")
    parser.add_argument("--quick", action="store_true", help="a short run (about a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--seconds", type=float, help="time to spend measuring (roughly)")
    args = parser.parse_args(argv)
    if args.seconds is not None and not 0 < args.seconds <= 3600:
        parser.error("--seconds must be more than 0 and at most 3600")
    if args.target is None:
        if args.arguments:
            parser.error("arguments need a target to pass them to")
        cases = known_cases()
    else:
        try:
            function = resolve(args.target)
            values = [literal(text) for text in args.arguments]
        except ValueError as error:
            parser.error(str(error))
        shown = ", ".join(repr(v) for v in values)
        label = f"{args.target.replace(':', '.')}({shown})"
        try:  # one trial call, so that a call that fails says so at once
            function(*values)
        except Exception as error:  # noqa: BLE001 (whatever it raises, say it in one line)
            parser.error(f"{label} raised {first_line(error)}")
        cases = [(args.target, label, lambda: function(*values))]
    args.seconds = args.seconds or (0.6 if args.quick else 1.8)
    return args, cases


def main(argv: list[str] | None = None) -> None:
    args, cases = parse_args(argv)
    slot = 0.025 if args.quick else 0.04  # seconds per call slot: several switch intervals
    result = probe(cases, slot, args.seconds)
    cores = usable_cores()
    gil = gil_enabled()  # after the calls: an import or a call can switch it back on
    control = spread(result["control"])
    rows = []
    for i, (name, label, _) in enumerate(cases):
        progress = spread(result["beside"][i])
        said, why = verdict(progress["median"], control["min"], cores, gil)
        rows.append(
            {
                "case": name,
                "label": label,
                **progress,
                "verdict": said,
                "why": why,
                "call": spread(result["calls"][i]),
            }
        )
    if args.json:
        document = {
            "example": "gil_probe",
            "claim": CLAIM,
            "gil_enabled": gil,
            "parameters": {
                "repeats": result["rounds"],
                "quick": args.quick,
                "seconds": args.seconds,
                "slot": slot,
                # a reader's own callable, if any (the known calls otherwise)
                **({"target": args.target, "arguments": args.arguments} if args.target else {}),
            },
            "usable_cores": cores,
            "switch_interval": sys.getswitchinterval(),
            "thresholds": {"released": RELEASED, "held": HELD},
            "interleaved": True,  # the i-th reading of every case comes from round i
            "idle": spread(result["idle"]),
            "control": {"case": "busy-process", "label": CONTROL_LABEL, **control},
            "cases": rows,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    python = f"{platform.python_implementation()} {platform.python_version()}"
    usable = f"{cores} usable {'core' if cores == 1 else 'cores'}"
    print(f"{python} (GIL {'on' if gil else 'off'}), {usable}")
    idle = statistics.median(result["idle"])
    print(f"The ticker alone: {idle / 1e6:.3g} million steps a second.")
    print(f"Its speed beside each call, as a share of that ({result['rounds']} rounds):")
    print(f"{'call':<36}{'median':>7}{'min to max':>14}  verdict")
    for row in [*rows, {"label": CONTROL_LABEL, **control, "verdict": "(control)"}]:
        spread_text = f"{row['min']:.2f} to {row['max']:.2f}"
        print(f"{row['label']:<36}{row['median']:>7.2f}{spread_text:>14}  {row['verdict']}")
    if cores < 2:
        print("Only one usable core: no verdict, the ticker and the call share it.")
    elif control["min"] < RELEASED:
        print(
            "The busy process slowed the ticker too: the machine did not always have a free core."
        )
    if args.target:
        print(f"{rows[0]['label']}: {rows[0]['verdict']} ({rows[0]['why']}).")


if __name__ == "__main__":
    main()
