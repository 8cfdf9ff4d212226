"""The method-call example: what it marks in the loop follows its own version table."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gilbook.interpreters import Interpreter
from helpers import EXAMPLES, INTERPRETERS, interpreter_id

SCRIPT = next(s for s in EXAMPLES if s.name == "inside_a_method_call.py")


def run(interpreter: Interpreter, folder: Path) -> dict[str, Any]:
    done = subprocess.run(
        [interpreter.path, str(SCRIPT), "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data: dict[str, Any] = json.loads(done.stdout)
    return data


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_marks_follow_the_table_and_the_loop_checks_at_its_backward_jump(
    interpreter: Interpreter, tmp_path: Path
) -> None:
    data = run(interpreter, tmp_path)
    breaker = data["eval_breaker"]
    loop = [op for op, _ in data["bytecode"]["small_loop"]]
    assert breaker["marked"] == [op for op in loop if op in breaker["checks"]]
    if breaker["known"]:
        assert "JUMP_BACKWARD" in breaker["marked"]
        assert breaker["listing"].count("<- checks the eval breaker") == len(breaker["marked"])
    else:
        assert breaker["marked"] == [] and "<- checks" not in breaker["listing"]


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_counts_come_back_after_the_call(interpreter: Interpreter, tmp_path: Path) -> None:
    values = {o["name"]: o["value"] for o in run(interpreter, tmp_path)["observations"]}
    if values["refcount_box_before"] is None:
        return  # no sys.getrefcount (PyPy)
    for name in ("box", "item"):
        assert values[f"refcount_{name}_after"] == values[f"refcount_{name}_before"]
        assert values[f"refcount_{name}_inside"] > values[f"refcount_{name}_before"]
    call_site = [op for op, _ in run(interpreter, tmp_path)["bytecode"]["call_site"]]
    assert call_site[0] == "RESUME" and call_site[-1] == "RETURN_VALUE"
