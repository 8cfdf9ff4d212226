"""The heartbeat (examples/heartbeat_thread.py): how it stops, what it reports, and the
directions its measurements must show on any machine.

Only robust directions are checked. An Event wakes a waiting thread at once, while a
thread that sleeps between checks of a flag sleeps out its interval: a sleep never ends
early. With the GIL, a beat that wakes beside a busy main thread waits for the GIL, which
the main thread's loop never gives up on its own, so it is late by about a switch interval
however quiet or busy the machine. Without the GIL, a beat is punctual only if a core is
free, so that direction is checked only in a run whose capacity shows one.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
import threading
from types import ModuleType
from typing import Any

import pytest

from gilbook.interpreters import Interpreter
from helpers import INTERPRETERS, ROOT, interpreter_id

SCRIPT = ROOT / "examples" / "heartbeat_thread.py"
CPYTHON = [i for i in INTERPRETERS if i.implementation == "CPython"]
WITH_GIL = [i for i in CPYTHON if i.gil_enabled]
WITHOUT_GIL = [i for i in INTERPRETERS if not i.gil_enabled]
ATTEMPTS = 3  # runs of the script before giving up on finding a free core


def load_heartbeat() -> ModuleType:
    spec = importlib.util.spec_from_file_location("heartbeat_thread", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def quick_run(python: str) -> Any:
    done = subprocess.run(
        [python, str(SCRIPT), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def row(rows: list[dict[str, Any]], variant: str) -> dict[str, Any]:
    return next(r for r in rows if r["variant"] == variant)


def fact(data: dict[str, Any], name: str) -> Any:
    return next(o["value"] for o in data["observations"] if o["name"] == name)


class Halfway:
    """A random number generator that always says one half."""

    def random(self) -> float:
        return 0.5


INTERVAL = 0.4  # the heartbeats below are asked to stop halfway through their second wait


def test_an_event_stops_the_heartbeat_at_once() -> None:
    waited = load_heartbeat().time_stopping(INTERVAL, Halfway(), flag=False)
    assert waited < INTERVAL / 4
    assert threading.active_count() == 1


def test_a_flag_keeps_the_main_thread_waiting_for_the_rest_of_a_sleep() -> None:
    # The flag is cleared one and a half intervals after the thread starts, halfway
    # through its second sleep, which cannot end before two intervals have passed.
    waited = load_heartbeat().time_stopping(INTERVAL, Halfway(), flag=True)
    assert waited > INTERVAL / 4
    assert threading.active_count() == 1


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_the_json_holds_every_beat_and_every_stop(interpreter: Interpreter) -> None:
    data = quick_run(interpreter.path)
    parameters = data["parameters"]
    assert [t["variant"] for t in data["timings"]] == ["idle", "busy"]
    for timing in data["timings"]:
        assert 2 * parameters["rounds"] <= len(timing["seconds"]) == parameters["repeats"]
        assert len(timing["seconds"]) <= parameters["beats"] * parameters["rounds"]
        assert 0 <= timing["rounds_cut"] <= parameters["rounds"]
        assert timing["median"] <= timing["p90"] <= timing["p99"] <= timing["max"]
    assert [r["variant"] for r in data["stopping"]] == ["event", "flag"]
    for stop in data["stopping"]:
        assert len(stop["seconds"]) == parameters["rounds"]
    for cost in data["thread_costs"]:
        assert len(cost["seconds"]) == parameters["starts"] * parameters["rounds"]
        assert cost["min"] > 0
    capacity = data["capacity"]
    assert len(capacity["seconds"]) == parameters["rounds"]
    assert capacity["cores"] in (1, 2)


@pytest.mark.parametrize("interpreter", CPYTHON, ids=interpreter_id)
def test_the_pool_default_follows_the_documented_formula(interpreter: Interpreter) -> None:
    data = quick_run(interpreter.path)
    if interpreter.release >= (3, 13):
        cpus = fact(data, "process_cpu_count")
    else:
        cpus = fact(data, "cpu_count")
        assert fact(data, "process_cpu_count") is None
    assert fact(data, "pool_default") == min(32, (cpus or 1) + 4)
    assert fact(data, "stack_size") == 0  # nobody set one: the platform's default


@pytest.mark.parametrize("interpreter", WITH_GIL, ids=interpreter_id)
def test_with_the_gil_a_beat_beside_a_busy_loop_waits_for_a_switch_interval(
    interpreter: Interpreter,
) -> None:
    data = quick_run(interpreter.path)
    switch = fact(data, "switch_interval_ms") / 1000
    busy, idle = row(data["timings"], "busy"), row(data["timings"], "idle")
    assert busy["median"] >= switch / 2, (busy["median"], switch)
    assert busy["median"] > idle["median"]


@pytest.mark.parametrize("interpreter", WITHOUT_GIL, ids=interpreter_id)
def test_without_the_gil_a_beat_with_a_free_core_does_not_wait_for_one(
    interpreter: Interpreter,
) -> None:
    capacities: list[str] = []
    for _ in range(ATTEMPTS):
        data = quick_run(interpreter.path) if not capacities else fresh(interpreter.path)
        assert data["gil_enabled"] is False
        if data["capacity"]["cores"] < 2:
            pytest.skip("one usable core: no core can be free")
        capacity = data["capacity"]["min"]
        if capacity >= 1.8:
            switch = fact(data, "switch_interval_ms") / 1000
            assert row(data["timings"], "busy")["median"] < switch / 2
            return
        capacities.append(f"{capacity:.2f}")
    pytest.skip(f"no free core in {ATTEMPTS} runs (capacities {capacities})")


def fresh(python: str) -> Any:
    quick_run.cache_clear()
    return quick_run(python)


@pytest.mark.parametrize(
    "args",
    [
        ["--interval", "0"],
        ["--interval", "nan"],
        ["--interval", "-5"],
        ["--interval", "fast"],
        ["--beats", "1"],
        ["--rounds", "0"],
        ["--starts", "-1"],
    ],
    ids=" ".join,
)
def test_bad_arguments_give_one_line_and_status_2(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
