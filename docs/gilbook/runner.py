"""Run an example script under a page's interpreters and keep what it printed.

A page's code cell calls ``run_example("name.py")``. Each run happens in an
empty temporary folder, as a reader would run a copied file, with ``--json``
(and ``--quick`` in a quick build). The build adds to what the example printed
the provenance it recorded for the interpreter (`gilbook.provenance`) and the
time of the run. An example that declares dependencies (PEP 723) runs in a
cached virtual environment; an interpreter for which they cannot be installed
is reported as not measured. A run that fails or exceeds its timeout raises
`ExampleFailed` carrying the script's stderr, which fails the build.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gilbook.environments import DependencyUnavailable, python_for
from gilbook.interpreters import Interpreter, Selection, resolved, select

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ENVIRONMENTS_VARIABLE = "GILBOOK_ENVIRONMENTS"  # where examples' dependencies are installed
QUICK_VARIABLE = "GILBOOK_QUICK"
TIMEOUT_VARIABLE = "GILBOOK_EXAMPLE_TIMEOUT"
PROGRESS_VARIABLE = "GILBOOK_PROGRESS"  # a file the build tails to show progress
DEFAULT_TIMEOUT = {False: 180.0, True: 60.0}  # seconds per run, by quick mode
# A run whose capacity falls below this share of the best capacity measured by the
# page's earlier runs was disturbed: it is measured again, up to RETRIES more times.
# A run below this share of its logical cores is labelled as such: busy, or cores
# that give less than a core each (hyper-threaded siblings, slower cores).
SHORT, RETRIES = 0.75, 2
_best_capacity = 0.0  # the most any run of this page's kernel has measured so far
# Variables a Jupyter kernel sets that must not reach an example's interpreter.
KERNEL_ONLY_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "MPLBACKEND", "PYDEVD_USE_FRAME_EVAL")


class ExampleFailed(RuntimeError):
    """An example exited with an error, timed out, or printed no valid JSON."""


def quick_mode() -> bool:
    return os.environ.get(QUICK_VARIABLE) == "1"


@dataclass
class Run:
    """One example run under one interpreter: what it printed, with the build's provenance."""

    interpreter: Interpreter
    stdout: str
    started: str = ""  # UTC, as 2026-11-25T09:41:07Z
    data: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.data = json.loads(self.stdout)
        i = self.interpreter
        self.data["provenance"] = {
            "implementation": i.implementation,
            "version": i.version,
            "executable": i.executable,
            "free_threaded_build": i.free_threaded,
            "build_optimizations": i.optimizations,
            # An import can turn the GIL back on: the example says how it finished.
            "gil_enabled": self.data.get("gil_enabled", i.gil_enabled),
            **i.machine,
            "timestamp_utc": self.started,
        }

    def timing_index(self, variant: str) -> int:
        """Where `variant` is in this run's list of timings."""
        return next(i for i, t in enumerate(self.data["timings"]) if t["variant"] == variant)

    def timing(self, variant: str) -> dict[str, Any]:
        return dict(self.data["timings"][self.timing_index(variant)])

    def speedup(self, variant: str) -> float:
        """How many times faster `variant` ran than the baseline."""
        return self.ratio(self.data["baseline"], variant)

    def ratio(self, top: str, bottom: str) -> float:
        """The time of variant `top` over that of `bottom`.

        Where the example timed every variant once per round (``"interleaved"``),
        this is the median of the ratios within each round, which a change in
        the machine's speed between rounds does not skew; otherwise the ratio
        of the medians.
        """
        above, below = self.timing(top), self.timing(bottom)
        if self.data.get("interleaved"):
            return paired_median(above["seconds"], below["seconds"])
        return float(above["median"] / below["median"])

    @property
    def capacity(self) -> dict[str, Any] | None:
        """How many cores' worth of Python the machine ran at once during this run, if measured."""
        capacity: dict[str, Any] | None = self.data.get("capacity")
        return capacity

    def efficiency(self, variant: str) -> float | None:
        """The speedup over what the variant's workers could have had: see `efficiency`."""
        if self.capacity is None:
            return None
        timing, baseline = self.timing(variant), self.timing(self.data["baseline"])["seconds"]
        if variant == self.data["baseline"]:
            return None
        if "ideal" in timing:  # the example worked out the best speedup of each round itself
            return paired_median(paired_ratios(baseline, timing["seconds"]), timing["ideal"])
        if any("ideal" in t for t in self.data["timings"]) or timing["workers"] < 2:
            return None  # efficiency says something only of parallel workers
        return efficiency(baseline, timing["seconds"], self.capacity["seconds"], timing["workers"])

    @property
    def short_of_cores(self) -> bool:
        """Whether the machine delivered well below one core per logical core while this ran."""
        return (
            self.capacity is not None and self.capacity["median"] < SHORT * self.capacity["cores"]
        )


def paired_ratios(top: list[float], bottom: list[float]) -> list[float]:
    """top[i] / bottom[i]: the ratios of values taken in the same round."""
    return [t / b for t, b in zip(top, bottom, strict=True)]


def paired_median(top: list[float], bottom: list[float]) -> float:
    """The median of top[i] / bottom[i]: ratios of times taken in the same round."""
    return float(statistics.median(paired_ratios(top, bottom)))


def efficiency(
    baseline: list[float], variant: list[float], capacity: list[float], workers: int
) -> float:
    """Parallel efficiency: in each round, the speedup over the most its workers could get.

    That most is the number of workers, or the machine's capacity measured in the
    same round (how many cores' worth of Python ran at once), whichever is
    smaller: 1.0 means the variant used all of it. The median over the rounds.
    """
    rounds = zip(baseline, variant, capacity, strict=True)
    return float(statistics.median(b / v / min(workers, c) for b, v, c in rounds))


@dataclass(frozen=True)
class Unavailable:
    """An interpreter this example could not run under, and why (a missing dependency)."""

    interpreter: Interpreter
    reason: str


@dataclass
class ExampleRuns:
    """Every run of one example in this build."""

    script: Path
    runs: list[Run]
    unavailable: list[Unavailable] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.script.name

    def by(self, *, free_threaded: bool) -> Run | None:
        """The first run on a build with (False) or without (True) the GIL."""
        return next((r for r in self.runs if r.interpreter.free_threaded is free_threaded), None)

    def with_gil(self) -> Run:
        """The run to compare with the free-threaded one: its twin (the default build of
        the same CPython version) if there is one, else the first run with the GIL."""
        free = self.by(free_threaded=True)
        twins = [r for r in self.runs if free and r.interpreter.key == free.interpreter.twin]
        return (twins or [self.by(free_threaded=False) or self.runs[0]])[0]

    def _repr_html_(self) -> str:
        from gilbook.tables import timings_table

        return timings_table(self)


def report_progress(*fields: str) -> None:
    """Tell the build (which shows it while the page runs) what is happening now."""
    progress = os.environ.get(PROGRESS_VARIABLE)
    if progress:
        with Path(progress).open("a", encoding="utf-8") as log:
            log.write("\t".join(fields) + "\n")


def environments() -> Path:
    """Where the virtual environments for examples' dependencies are kept, across builds."""
    return Path(os.environ.get(ENVIRONMENTS_VARIABLE) or ROOT / "_build" / "environments")


def run_once(script: Path, interpreter: Interpreter, quick: bool, timeout: float) -> Run:
    """Run `script` with ``--json`` under `interpreter` in an empty folder."""
    python = python_for(script, interpreter, environments())
    command = [python, str(script), "--json", *(["--quick"] if quick else [])]
    env = {k: v for k, v in os.environ.items() if k not in KERNEL_ONLY_VARIABLES}
    where = f"{script.name} under {interpreter.label} ({interpreter.path})"

    def failed(what: str, stderr: str) -> ExampleFailed:
        """What went wrong, the example's stderr, and the command that runs it again."""
        output = textwrap.indent(stderr.rstrip(), "    ") if stderr.strip() else "    (nothing)"
        if os.name == "nt":
            again = f"in an empty folder, {subprocess.list2cmdline(command)}"
        else:
            again = f'cd "$(mktemp -d)" && {shlex.join(command)}'
        return ExampleFailed(f"{where} {what}. Its stderr:\n{output}\nTo reproduce it: {again}")

    report_progress("start", script.name, interpreter.label)
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
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
            stderr = error.stderr or ""
            if isinstance(stderr, bytes):
                stderr = stderr.decode(errors="replace")
            raise failed(f"timed out after {timeout:g} s", stderr) from None
    report_progress("done", script.name, interpreter.label, f"{time.perf_counter() - start:.1f}")
    if done.returncode != 0:
        raise failed(f"failed with exit status {done.returncode}", done.stderr)
    try:
        return Run(interpreter, done.stdout, started)
    except json.JSONDecodeError as error:
        raise failed(f"printed no valid JSON ({error})", done.stderr) from None


def least_disturbed(script: Path, interpreter: Interpreter, quick: bool, timeout: float) -> Run:
    """Run `script`; while the machine delivered much less capacity than it did for the
    page's earlier runs, run it again, a few times at most, and keep the run with the most.

    The reference is what this machine has shown it can deliver, not its core count:
    a laptop whose logical cores are hyper-threaded siblings never delivers one core
    per logical core, however quiet it is.
    """
    global _best_capacity
    runs = [run_once(script, interpreter, quick, timeout)]

    def capacity(run: Run) -> float:
        return run.capacity["median"] if run.capacity else 0.0

    # An example that measures no capacity is never run again: nothing says it was disturbed.
    while (
        runs[-1].capacity is not None
        and capacity(runs[-1]) < SHORT * _best_capacity
        and len(runs) <= RETRIES
    ):
        runs.append(run_once(script, interpreter, quick, timeout))
    kept = max(runs, key=capacity)
    _best_capacity = max(_best_capacity, capacity(kept))
    kept.data["provenance"]["attempts"] = len(runs)
    return kept


def run_example(
    script_name: str, timeout: float | None = None, interpreters: Selection = "default"
) -> ExampleRuns:
    """Run ``examples/<script_name>`` under the page's interpreters, one at a time.

    By default those are the build's Python, the newest free-threaded pair and
    PyPy (`gilbook.interpreters.select`); ``interpreters="all"`` takes every one found.
    """
    script = EXAMPLES / script_name
    if not script.is_file():
        raise ExampleFailed(f"no such example: {script}")
    quick = quick_mode()
    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_VARIABLE) or DEFAULT_TIMEOUT[quick])
    example = ExampleRuns(script, [])
    for interpreter in select(resolved()[0], interpreters):
        try:
            example.runs.append(least_disturbed(script, interpreter, quick, timeout))
        except DependencyUnavailable as error:
            example.unavailable.append(Unavailable(interpreter, str(error)))
            report_progress("unavailable", script.name, interpreter.label, str(error))
    return example
