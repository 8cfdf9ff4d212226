"""Run an example script under every interpreter and keep exactly what it printed.

A page's code cell calls ``run_example("name.py")``. Each run happens in an
empty temporary folder, as a reader would run a copied file, with ``--json``
(and ``--quick`` in a quick build). A run that fails or exceeds its timeout
raises `ExampleFailed` carrying the script's stderr, which fails the build.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gilbook.interpreters import Interpreter, resolved

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QUICK_VARIABLE = "GILBOOK_QUICK"
TIMEOUT_VARIABLE = "GILBOOK_EXAMPLE_TIMEOUT"
PROGRESS_VARIABLE = "GILBOOK_PROGRESS"  # a file the build tails to show progress
DEFAULT_TIMEOUT = {False: 180.0, True: 60.0}  # seconds per run, by quick mode
# Variables a Jupyter kernel sets that must not reach an example's interpreter.
KERNEL_ONLY_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "MPLBACKEND", "PYDEVD_USE_FRAME_EVAL")


class ExampleFailed(RuntimeError):
    """An example exited with an error, timed out, or printed no valid JSON."""


def quick_mode() -> bool:
    return os.environ.get(QUICK_VARIABLE) == "1"


@dataclass
class Run:
    """One example run under one interpreter."""

    interpreter: Interpreter
    stdout: str
    data: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.data = json.loads(self.stdout)

    def timing_index(self, variant: str) -> int:
        """Where `variant` is in this run's list of timings."""
        return next(i for i, t in enumerate(self.data["timings"]) if t["variant"] == variant)

    def timing(self, variant: str) -> dict[str, Any]:
        return dict(self.data["timings"][self.timing_index(variant)])

    def speedup(self, variant: str) -> float:
        """How many times faster `variant` ran than the baseline, by medians."""
        baseline = self.timing(self.data["baseline"])["median"]
        return float(baseline / self.timing(variant)["median"])


@dataclass
class ExampleRuns:
    """Every run of one example in this build."""

    script: Path
    runs: list[Run]

    @property
    def name(self) -> str:
        return self.script.name

    def by(self, *, free_threaded: bool) -> Run | None:
        """The first run on a build with (False) or without (True) the GIL."""
        return next((r for r in self.runs if r.interpreter.free_threaded is free_threaded), None)

    def with_gil(self) -> Run:
        """The run to compare with the free-threaded one: the same CPython version if
        there is one, else the first run with the GIL."""
        free = self.by(free_threaded=True)
        same_version = [
            r
            for r in self.runs
            if free
            and not r.interpreter.free_threaded
            and r.interpreter.implementation == "CPython"
            and r.interpreter.version == free.interpreter.version
        ]
        return (same_version or [self.by(free_threaded=False) or self.runs[0]])[0]

    def _repr_html_(self) -> str:
        from gilbook.tables import timings_table

        return timings_table(self)


def report_progress(*fields: str) -> None:
    """Tell the build (which shows it while the page runs) what is happening now."""
    progress = os.environ.get(PROGRESS_VARIABLE)
    if progress:
        with Path(progress).open("a", encoding="utf-8") as log:
            log.write("\t".join(fields) + "\n")


def run_once(script: Path, interpreter: Interpreter, quick: bool, timeout: float) -> Run:
    """Run `script` with ``--json`` under `interpreter` in an empty folder."""
    command = [interpreter.path, str(script), "--json", *(["--quick"] if quick else [])]
    env = {k: v for k, v in os.environ.items() if k not in KERNEL_ONLY_VARIABLES}
    where = f"{script.name} under {interpreter.label} ({interpreter.path})"
    report_progress("start", script.name, interpreter.label)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gilbook-") as empty_folder:
        try:
            done = subprocess.run(
                command,
                cwd=empty_folder,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            stderr = error.stderr.decode(errors="replace") if error.stderr else ""
            raise ExampleFailed(f"{where} timed out after {timeout:g} s\n{stderr}") from None
    report_progress("done", script.name, interpreter.label, f"{time.perf_counter() - start:.1f}")
    if done.returncode != 0:
        raise ExampleFailed(f"{where} failed with exit status {done.returncode}\n{done.stderr}")
    try:
        return Run(interpreter, done.stdout)
    except json.JSONDecodeError as error:
        raise ExampleFailed(f"{where} printed no valid JSON ({error})\n{done.stderr}") from None


def run_example(script_name: str, timeout: float | None = None) -> ExampleRuns:
    """Run ``examples/<script_name>`` under every interpreter of this build, one at a time."""
    script = EXAMPLES / script_name
    if not script.is_file():
        raise ExampleFailed(f"no such example: {script}")
    quick = quick_mode()
    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_VARIABLE) or DEFAULT_TIMEOUT[quick])
    interpreters, _ = resolved()
    return ExampleRuns(script, [run_once(script, i, quick, timeout) for i in interpreters])
