"""The heartbeat in a process (examples/heartbeat_process.py) and what one more worker
costs (examples/worker_costs.py).

Only structure and robust directions are checked: a heartbeat that waits on an event
stops as soon as it is told to, whatever its period; a process takes longer to start
than a thread; a spawned child owns more memory than a forked one or than a thread; and
a forked CPython child that reads its parent's floats ends up owning their pages.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gilbook.interpreters import Interpreter
from helpers import INTERPRETERS, ROOT, interpreter_id

HEARTBEAT = ROOT / "examples" / "heartbeat_process.py"
COSTS = ROOT / "examples" / "worker_costs.py"
CPYTHONS = [i for i in INTERPRETERS if i.implementation == "CPython"]
LINUX = sys.platform.startswith("linux")


def load(script: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(script.stem, script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_json(script: Path, *args: str, python: str = sys.executable) -> Any:
    done = subprocess.run(
        [python, str(script), "--json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_heartbeat_stops_as_soon_as_it_is_told_to() -> None:
    heartbeat = load(HEARTBEAT)
    stop, beats = multiprocessing.Event(), multiprocessing.Value("i", 0)
    receive, send = multiprocessing.Pipe(duplex=False)
    period = 30.0  # no beat falls due during the test
    worker = threading.Thread(target=heartbeat.send_heartbeats, args=(stop, beats, period, send))
    worker.start()
    time.sleep(0.05)
    told = time.perf_counter()
    stop.set()
    worker.join(timeout=period / 2)
    assert not worker.is_alive(), "the heartbeat slept through the stop"
    assert time.perf_counter() - told < period / 10
    assert receive.recv() == []
    assert beats.value == 0


@pytest.mark.parametrize("interpreter", CPYTHONS, ids=interpreter_id)
def test_a_flag_named_continue_does_not_compile(interpreter: Interpreter) -> None:
    done = subprocess.run(
        [interpreter.path, "-c", "compile('def send_heartbeats(continue): pass', 'x', 'exec')"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "SyntaxError" in done.stderr


def test_every_variant_records_the_same_beats() -> None:
    data = run_json(HEARTBEAT, "--quick", "--beats", "5", "--rounds", "3", "--period", "5")
    parameters = data["parameters"]
    assert parameters["repeats"] == 5 * 3
    assert parameters["period"] == pytest.approx(0.005)
    assert [t["variant"] for t in data["timings"]] == [
        "process-idle",
        "process-busy",
        "thread-busy",
    ]
    for timing in data["timings"]:
        assert len(timing["seconds"]) == parameters["repeats"]
        assert timing["median"] <= timing["p90"] <= timing["p99"] <= timing["max"]
        assert len(timing["stop"]["seconds"]) == parameters["rounds"]
    assert data["switch_interval"] > 0


@pytest.fixture(scope="module")
def costs() -> Any:
    return run_json(COSTS, "--quick")


def timing(data: Any, variant: str) -> Any:
    return next(t for t in data["timings"] if t["variant"] == variant)


def memory_row(data: Any, variant: str) -> Any:
    return next(row for row in data["memory"] if row["variant"] == variant)


def test_every_way_available_is_measured_or_said_unavailable(costs: Any) -> None:
    ways = {"thread", "interpreter", "process-fork", "process-forkserver", "process-spawn"}
    measured = {t["variant"] for t in costs["timings"]}
    assert "thread" in measured
    assert measured | set(costs["unavailable"]) >= ways
    assert not measured & set(costs["unavailable"])
    assert costs["baseline"] == "thread"
    for row in costs["timings"]:
        joined = row["joined"]
        assert len(joined["seconds"]) == costs["parameters"]["repeats"]
        assert all(f <= j for f, j in zip(row["seconds"], joined["seconds"], strict=True))
    assert costs["default_start_method"] in {"fork", "forkserver", "spawn"}


def test_a_spawned_child_runs_the_script_again_and_a_forked_one_does_not(costs: Any) -> None:
    rows = {t["variant"]: t for t in costs["timings"]}
    assert rows["thread"]["imports_script"] is False
    if "process-spawn" in rows:
        assert rows["process-spawn"]["imports_script"] is True
    if "process-fork" in rows:
        assert rows["process-fork"]["imports_script"] is False


def test_a_process_takes_longer_to_start_than_a_thread(costs: Any) -> None:
    # The fastest start of each: on a busy machine a thread's median start can take
    # milliseconds of waiting for a core, but its best one stays far below a process's.
    thread = timing(costs, "thread")["min"]
    processes = [t for t in costs["timings"] if t["variant"].startswith("process-")]
    assert processes
    for row in processes:
        assert row["min"] > thread, row["variant"]


@pytest.mark.skipif(not LINUX, reason="memory is read from Linux's /proc")
def test_a_spawned_child_owns_more_than_a_thread_or_a_forked_child(costs: Any) -> None:
    spawned = memory_row(costs, "process-spawn")
    assert memory_row(costs, "thread")["rss_kib"] < spawned["uss_kib"]
    assert memory_row(costs, "process-fork")["uss_kib"] < spawned["uss_kib"]
    for row in costs["memory"]:
        assert row["uss_kib"] <= row["rss_kib"], row["variant"]


@pytest.mark.skipif(not LINUX, reason="memory is read from Linux's /proc")
@pytest.mark.parametrize("interpreter", CPYTHONS, ids=interpreter_id)
def test_reading_a_parents_floats_copies_their_pages(interpreter: Interpreter) -> None:
    data = run_json(
        COSTS, "--quick", "--repeats", "1", "--items", "200000", python=interpreter.path
    )
    cow = data["copy_on_write"]
    grew = cow["after"]["uss_kib"] - cow["before"]["uss_kib"]
    assert grew >= cow["floats_kib"] / 2, cow
