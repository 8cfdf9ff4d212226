"""The coroutines chapter's examples: waiting tasks overlap, computing ones block the loop.

Only robust directions are checked: a sleep never ends early, twenty sleeping tasks
finish in far less than twenty sleeps, the talk's gather prints "aaabbb", CPU-bound
coroutines are not clearly faster than plain calls, and a timer beside them waits
for a job. How late the timer is beside threads or processes depends on the
machine's cores and load, so no test asserts it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gilbook.interpreters import Interpreter
from gilbook.runner import paired_median
from helpers import INTERPRETERS, ROOT, interpreter_id

GATHER = ROOT / "examples" / "gather_overlap.py"
BLOCKING = ROOT / "examples" / "blocking_coroutines.py"


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


def timing(data: dict[str, Any], variant: str) -> dict[str, Any]:
    row: dict[str, Any] = next(t for t in data["timings"] if t["variant"] == variant)
    return row


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_gathered_sleeps_overlap_and_print_the_talks_order(interpreter: Interpreter) -> None:
    data = run_json(
        GATHER, "--quick", "--sleep", "50", "--tasks", "3", "20", python=interpreter.path
    )
    sleep = data["parameters"]["sleep"]
    assert timing(data, "gather-3")["outputs"] == ["aaabbb"]
    assert timing(data, "awaited-3")["outputs"] == ["ababab"]
    assert timing(data, "gather-20")["outputs"] == ["20 'a', then 20 'b'"]
    for row in data["timings"]:  # a sleep never ends early
        assert row["min"] >= 0.99 * sleep * (row["tasks"] if row["variant"] == "awaited-3" else 1)
    assert timing(data, "gather-20")["median"] < 10 * timing(data, "one")["median"]


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_cpu_bound_coroutines_are_no_faster_and_hold_up_the_timer(
    interpreter: Interpreter,
) -> None:
    data = run_json(BLOCKING, "--quick", python=interpreter.path)
    parameters = data["parameters"]
    sequential, coroutines = timing(data, "sequential"), timing(data, "coroutines")
    assert paired_median(sequential["seconds"], coroutines["seconds"]) < 1.5
    job = sequential["median"] / (parameters["workers"] * parameters["jobs"])
    # The timer's first wait starts before the first job, which it then waits for.
    assert coroutines["lateness_max"] >= job / 2
    for row in [*data["timings"][1:], data["timer_alone"]]:
        assert row["ticks"] == len(row["lateness"])
        assert all(late > -1e-3 for late in row["lateness"])
    assert len(data["capacity"]["seconds"]) == parameters["repeats"]
    debug = data["debug_mode"]
    assert debug["slow_callback_duration"] == 0.1  # the documented default
    assert debug["blocked_for"] >= debug["slow_callback_duration"]
    assert any(message.startswith("Executing <Task") for message in debug["warnings"])


def test_long_output_is_described_by_its_runs() -> None:
    described = load(GATHER).described
    assert described("aaabbb") == "aaabbb"
    assert described("a" * 1000 + "b" * 1000) == "1000 'a', then 1000 'b'"


@pytest.mark.parametrize(
    ("script", "args"),
    [
        (GATHER, ["--sleep", "0"]),
        (GATHER, ["--sleep", "soon"]),
        (GATHER, ["--tasks", "3", "0"]),
        (GATHER, ["--rounds", "0"]),
        (BLOCKING, ["--tick", "0"]),
        (BLOCKING, ["--job", "-1"]),
        (BLOCKING, ["--jobs", "0"]),
        (BLOCKING, ["--rounds", "0"]),
    ],
    ids=lambda v: v.stem if isinstance(v, Path) else " ".join(v),
)
def test_bad_values_give_one_line_and_status_2(script: Path, args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
