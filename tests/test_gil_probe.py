"""The GIL probe (examples/gil_probe.py): its verdicts, and its command line on a reader's target.

Only robust directions are checked: `time.sleep` lets the ticker run, a pure-Python
loop makes it take turns. A low reading needs a free core to mean anything, so the
"held" verdict is checked only in a run whose control shows one.
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
from helpers import INTERPRETERS, ROOT, interpreter_id

SCRIPT = ROOT / "examples" / "gil_probe.py"
DEFAULT_BUILDS = [i for i in INTERPRETERS if i.implementation == "CPython" and not i.free_threaded]
WITHOUT_GIL = [i for i in INTERPRETERS if not i.gil_enabled]
ATTEMPTS = 3  # runs of the probe before giving up on finding a free core


def load_probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gil_probe", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def probe(*args: str, python: str = sys.executable, cwd: Path | None = None) -> Any:
    done = subprocess.run(
        [python, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return done


def probe_json(*args: str, python: str = sys.executable, cwd: Path | None = None) -> Any:
    return json.loads(probe("--json", *args, python=python, cwd=cwd).stdout)


def case(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in data["cases"] if c["case"] == name)


def test_verdicts_follow_the_thresholds() -> None:
    gil_probe = load_probe()
    released, held = gil_probe.RELEASED, gil_probe.HELD
    assert 0.5 < held < released < 1
    free_core = released + 0.1
    assert gil_probe.verdict(released, 0.2, 2, True)[0] == "released"
    assert gil_probe.verdict(held, free_core, 2, True)[0] == "held"
    assert gil_probe.verdict(held, released - 0.1, 2, True)[0] == "unclear"  # no free core
    assert gil_probe.verdict((held + released) / 2, free_core, 2, True)[0] == "unclear"
    assert gil_probe.verdict(1.0, free_core, 1, True)[0] == "no verdict"
    assert gil_probe.verdict(0.5, free_core, 2, False)[0] == "no GIL"


@pytest.mark.parametrize("interpreter", DEFAULT_BUILDS, ids=interpreter_id)
def test_sleep_releases_and_a_python_loop_holds(interpreter: Interpreter) -> None:
    controls = []
    for _ in range(ATTEMPTS):
        data = probe_json("--seconds", "1.2", python=interpreter.path)
        if data["usable_cores"] < 2:
            pytest.skip(f"{data['usable_cores']} usable core: the probe gives no verdict")
        assert case(data, "sleep")["verdict"] == "released", case(data, "sleep")
        loop = case(data, "python-loop")
        assert loop["median"] < case(data, "sleep")["median"]
        control = data["control"]["min"]  # the verdict asks for a free core in every round
        if control >= data["thresholds"]["released"]:
            assert loop["verdict"] == "held", (loop, control)
            return
        assert loop["verdict"] == "unclear", loop
        controls.append(f"{control:.2f}")
    pytest.skip(f"no free core beside the ticker in {ATTEMPTS} runs (controls {controls})")


@pytest.mark.parametrize("interpreter", WITHOUT_GIL, ids=interpreter_id)
def test_without_the_gil_every_verdict_says_so(interpreter: Interpreter) -> None:
    data = probe_json("--quick", python=interpreter.path)
    assert data["gil_enabled"] is False
    assert {c["verdict"] for c in data["cases"]} == {"no GIL"}


def test_a_readers_target_is_probed() -> None:
    data = probe_json("time:sleep", "0.2", "--quick")
    assert data["parameters"]["target"] == "time:sleep"
    (only,) = data["cases"]
    assert only["label"] == "time.sleep(0.2)"
    expected = "released" if data["usable_cores"] >= 2 else "no verdict"
    assert only["verdict"] == expected
    assert len(only["values"]) == data["parameters"]["repeats"] >= 3
    assert data["control"]["median"] > 0


def test_a_readers_own_module_is_found_in_the_current_folder(tmp_path: Path) -> None:
    (tmp_path / "my_work.py").write_text("def work(n, text):\n    return text * n\n")
    done = probe("my_work:work", "3", "'ab'", "--quick", cwd=tmp_path)
    assert "my_work.work(3, 'ab')" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["no_such_module_here:f"],
        ["time"],
        [":sleep"],
        ["time:"],
        ["time:no_such_function"],
        ["math:pi"],
        ["time:sleep", "abc"],
        ["time:sleep", "-1"],
        ["time:sleep", "1", "2"],
        ["--seconds", "0"],
        ["--seconds", "nan"],
        ["--seconds", "two"],
        ["--no-such-option"],
    ],
    ids=" ".join,
)
def test_bad_targets_and_arguments_give_one_line_and_status_2(args: list[str]) -> None:
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
