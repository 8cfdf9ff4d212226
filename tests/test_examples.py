"""The example contract (examples/README.md), checked on every script in examples/."""

from __future__ import annotations

import ast
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from gilbook.environments import DependencyUnavailable, python_for, script_metadata
from gilbook.interpreters import Interpreter
from gilbook.runner import environments
from helpers import EXAMPLES, INTERPRETERS, ROOT, interpreter_id

WITH_DEPENDENCIES = [s for s in EXAMPLES if script_metadata(s).get("dependencies")]


def run_alone(
    script: Path, folder: Path, *args: str, python: str = sys.executable, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Copy `script` alone into `folder` and run it there, as a reader would, with
    deprecation warnings shown (such as forking a process that runs threads)."""
    copy = folder / script.name
    shutil.copy2(script, copy)
    return subprocess.run(
        [python, "-W", "always::DeprecationWarning", copy.name, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def python_to_run(script: Path, interpreter: Interpreter = INTERPRETERS[0]) -> str:
    """The interpreter itself, or the environment holding the script's dependencies (PEP 723)."""
    try:
        return python_for(script, interpreter, environments())
    except DependencyUnavailable as error:
        pytest.skip(str(error))


def accepts_workers(script: Path) -> bool:
    return "--workers" in script.read_text(encoding="utf-8")


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_quick_json_has_gil_state_and_consistent_timings(
    script: Path, interpreter: Interpreter, tmp_path: Path
) -> None:
    python = python_to_run(script, interpreter)
    done = run_alone(script, tmp_path, "--quick", "--json", python=python)
    assert done.returncode == 0, done.stderr
    assert "DeprecationWarning" not in done.stderr, done.stderr
    data = json.loads(done.stdout)
    assert "provenance" not in data, "the engine records provenance; the example does not"
    assert data["gil_enabled"] is interpreter.gil_enabled
    assert data["parameters"]["quick"] is True
    for timing in data.get("timings", []):
        seconds = timing["seconds"]
        assert len(seconds) == data["parameters"]["repeats"]
        assert timing["median"] == statistics.median(seconds)
        assert (timing["min"], timing["max"]) == (min(seconds), max(seconds))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_runs_alone_with_no_arguments(script: Path, tmp_path: Path) -> None:
    done = run_alone(script, tmp_path, python=python_to_run(script))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def bad_arguments(script: Path) -> list[list[str]]:
    cases = [["--no-such-option"]]
    if accepts_workers(script):
        cases += [["--workers", "0"], ["--workers", "two"], ["--quick", "--workers", "-3"]]
    return cases


@pytest.mark.parametrize(
    ("script", "args"),
    [(s, a) for s in EXAMPLES for a in bad_arguments(s)],
    ids=lambda v: v.stem if isinstance(v, Path) else " ".join(v),
)
def test_bad_arguments_give_one_line_and_status_2(
    script: Path, args: list[str], tmp_path: Path
) -> None:
    done = run_alone(script, tmp_path, *args, python=python_to_run(script))
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("script", WITH_DEPENDENCIES, ids=lambda p: p.stem)
def test_without_its_package_an_example_says_how_to_run_it_in_one_line(
    script: Path, tmp_path: Path
) -> None:
    shutil.copy2(script, tmp_path / script.name)
    bare = subprocess.run(  # -S: no site-packages, like a plain python without the package
        [sys.executable, "-S", script.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bare.returncode == 1
    assert bare.stderr.count("\n") == 1 and "Traceback" not in bare.stderr
    assert f"uv run {script.name}" in bare.stderr


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_has_claim_docstring_and_main_guard(script: Path) -> None:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree)
    assert docstring, "the docstring states the claim and how to run the script"
    assert f"python {script.name}" in docstring, "the docstring says how to run it"
    assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)
    guard = tree.body[-1]
    assert isinstance(guard, ast.If)
    assert ast.unparse(guard.test) == "__name__ == '__main__'"
    assert ast.unparse(guard.body[0]) == "main()"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_is_embedded_in_a_chapter(script: Path) -> None:
    pages = [
        p for p in (ROOT / "docs").glob("*.md") if f'run_example("{script.name}"' in p.read_text()
    ]
    assert pages, f"no chapter runs {script.name}"
    assert any(f"../examples/{script.name}" in page.read_text() for page in pages), (
        "the chapter that runs it also shows its code and a download link"
    )
