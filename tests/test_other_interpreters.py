"""The subinterpreter and C-extension examples report what each interpreter really offers.

Only facts and robust directions are checked, never speed: which API an interpreter
has, whether a new interpreter gets a GIL of its own, which objects it may share, and
that the compiled extension keeps the GIL off on a free-threaded build.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gilbook.interpreters import Interpreter
from helpers import INTERPRETERS, ROOT, interpreter_id

EXAMPLES = ROOT / "examples"


def run(script: str, interpreter: Interpreter, folder: Path) -> Any:
    done = subprocess.run(
        [interpreter.path, str(EXAMPLES / script), "--quick", "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def observed(data: dict[str, Any], name: str) -> Any:
    return next(o["value"] for o in data["observations"] if o["name"] == name)


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_subinterpreters_report_the_api_and_gil_of_their_version(
    interpreter: Interpreter, tmp_path: Path
) -> None:
    data = run("subinterpreters.py", interpreter, tmp_path)
    version = interpreter.release[:2]
    variants = {t["variant"] for t in data["timings"]}
    if interpreter.implementation != "CPython":
        assert data["api"] is None and "interpreters-2" not in variants
        return
    expected = {(3, 12): "_xxsubinterpreters (private)", (3, 13): "_interpreters (private)"}
    if version >= (3, 14):
        assert data["api"] == "concurrent.interpreters"
    elif version in expected:
        assert data["api"] == expected[version]
    assert {"main", "threads-2", "interpreter-1", "interpreters-2"} <= variants
    gil = observed(data, "gil")
    if not interpreter.gil_enabled:
        assert gil.startswith("none")
    elif version >= (3, 12):
        assert gil == "its own"
    else:
        assert gil == "the main interpreter's"
    # Every version shares None, ints, str and bytes, and none shares a list or a dict.
    for kind in ("none", "int", "str", "bytes"):
        assert observed(data, f"share-{kind}") is True
    for kind in ("list", "dict", "bytearray"):
        assert observed(data, f"share-{kind}") is False
    if version >= (3, 13):  # 3.13's private module shares memoryview and tuples
        assert observed(data, "share-memoryview") is True
        assert observed(data, "share-tuple") is True


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_the_extension_compiles_and_leaves_the_gil_as_it_was(
    interpreter: Interpreter, tmp_path: Path
) -> None:
    data = run("nogil_extension.py", interpreter, tmp_path)
    build = data["build"]
    if interpreter.implementation != "CPython":
        assert build["compiled"] is False and "not CPython" in build["reason"]
        return
    assert build["compiled"] is True, build
    assert data["same_result"] is True  # releasing the GIL changes nothing else
    # The module declares Py_mod_gil, so importing it does not switch the GIL back on.
    assert data["gil_enabled"] is interpreter.gil_enabled
    assert {t["variant"] for t in data["timings"]} >= {"sequential", "holding-2", "released-2"}


def test_the_extension_without_a_compiler_says_why_in_one_line(tmp_path: Path) -> None:
    python = INTERPRETERS[0]
    if python.implementation != "CPython":
        pytest.skip("needs CPython")
    done = subprocess.run(
        [python.path, str(EXAMPLES / "nogil_extension.py"), "--quick"],
        cwd=tmp_path,
        env={"PATH": str(tmp_path)},  # no compiler can be found on this PATH
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Nothing measured: no C compiler" in done.stdout
