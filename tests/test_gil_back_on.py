"""Turning the GIL back on (examples/gil_back_on.py): what each kind of interpreter reports.

Only states are checked, never speed: the GIL's state after each import, the warning,
and what PYTHON_GIL and -X gil change. Where the machine has no C compiler or no Python
headers, the free-threaded checks are skipped with the example's own reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gilbook.interpreters import Interpreter
from helpers import INTERPRETERS, ROOT, interpreter_id

SCRIPT = ROOT / "examples" / "gil_back_on.py"
FREE_THREADED = [i for i in INTERPRETERS if i.free_threaded]
DEFAULT_BUILDS = [i for i in INTERPRETERS if i.implementation == "CPython" and not i.free_threaded]
WARNING = "The global interpreter lock (GIL) has been enabled to load module 'declares_nothing'"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gil_back_on", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_json(interpreter: Interpreter, folder: Path, **env: str) -> Any:
    done = subprocess.run(
        [interpreter.path, str(SCRIPT), "--quick", "--json"],
        cwd=folder,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def states(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {state["step"]: state for state in data["states"]}


def controls(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in data["controls"]}


def test_only_one_module_declares_free_threading() -> None:
    example = load_example()
    declaring, silent = (example.c_source(name, d) for name, d in example.MODULES)
    assert "{Py_mod_gil, Py_MOD_GIL_NOT_USED}" in declaring
    assert "Py_mod_gil" not in silent
    assert "PyInit_declares_nothing(void)" in silent


@pytest.mark.parametrize("interpreter", FREE_THREADED, ids=interpreter_id)
def test_an_undeclared_module_turns_the_gil_back_on(
    interpreter: Interpreter, tmp_path: Path
) -> None:
    data = run_json(interpreter, tmp_path)
    if data["compiler"]["error"]:
        pytest.skip(data["compiler"]["error"])
    assert data["gil_enabled"] is False, "the example's own interpreter imports neither module"
    steps = states(data)
    assert [s["gil_enabled"] for s in data["states"]] == [False, False, True]
    assert steps["declares_no_gil"]["warning"] is None
    assert WARNING in steps["declares_nothing"]["warning"]
    assert "RuntimeWarning" in steps["declares_nothing"]["warning"]
    assert len(data["timings"]) == 6  # one and two threads after each of the three steps
    forced = controls(data)
    for name in ("PYTHON_GIL=0", "-X gil=0"):
        assert forced[name]["error"] is None
        assert (forced[name]["gil_at_start"], forced[name]["gil_after_import"]) == (False, False)
        assert forced[name]["warned"] is False
    for name in ("PYTHON_GIL=1", "-X gil=1"):
        assert (forced[name]["gil_at_start"], forced[name]["gil_after_import"]) == (True, True)
        assert forced[name]["warned"] is False  # the GIL was on already: nothing to announce


@pytest.mark.parametrize("interpreter", FREE_THREADED, ids=interpreter_id)
def test_without_a_compiler_it_says_so_and_still_runs(
    interpreter: Interpreter, tmp_path: Path
) -> None:
    data = run_json(interpreter, tmp_path, PATH=str(tmp_path))
    if not data["compiler"]["error"]:
        pytest.skip("the compiler is named by an absolute path, so PATH cannot hide it")
    assert data["outcome"].startswith(("no C compiler found", "no Python headers found"))
    assert data["states"][0]["gil_enabled"] is False
    assert [s["note"] for s in data["states"][1:]] == ["not imported", "not imported"]


@pytest.mark.parametrize("interpreter", DEFAULT_BUILDS, ids=interpreter_id)
def test_a_default_build_has_nothing_to_turn_back_on(
    interpreter: Interpreter, tmp_path: Path
) -> None:
    data = run_json(interpreter, tmp_path)
    assert data["outcome"] == "default build: the GIL is always on; nothing to turn back on"
    assert data["compiler"]["command"] is None
    assert data["states"][0]["gil_enabled"] is True
    assert [s["gil_enabled"] for s in data["states"][1:]] == [None, None]
    assert [t["variant"] for t in data["timings"]] == ["start-1", "start-2"]
    if tuple(int(part) for part in interpreter.version.split(".")[:2]) >= (3, 13):
        forced = controls(data)
        assert "not supported by this build" in forced["PYTHON_GIL=0"]["error"]
        assert forced["PYTHON_GIL=1"]["gil_at_start"] is True
