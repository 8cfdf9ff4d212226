"""Find the Python interpreters that the book measures every example under.

The build's own Python always comes first. Then come the paths listed in the
``GILBOOK_PYTHONS`` environment variable (separated by ``os.pathsep``), then
well-known names found on ``PATH``. Each candidate is started once to ask what
it is; one that does not start is skipped and reported, unless it was listed
explicitly, which is an error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass

PYTHONS_VARIABLE = "GILBOOK_PYTHONS"
RESOLVED_VARIABLE = "GILBOOK_RESOLVED_INTERPRETERS"
NAMES_ON_PATH = ("python3.13t", "python3.14t", "python3.14", "pypy3")

_PROBE = """\
import json, platform, sys, sysconfig
check = getattr(sys, "_is_gil_enabled", None)
print(json.dumps({
    "executable": sys.executable,
    "implementation": platform.python_implementation(),
    "version": platform.python_version(),
    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "gil_enabled": check() if check else True,
}))
"""


class InterpreterError(RuntimeError):
    """An interpreter that was asked for explicitly does not work."""


@dataclass(frozen=True)
class Interpreter:
    """One interpreter, as it describes itself."""

    path: str
    executable: str
    implementation: str
    version: str
    free_threaded: bool
    gil_enabled: bool
    found_by: str

    @property
    def label(self) -> str:
        """A short human name, such as ``CPython 3.13.5 free-threaded``."""
        build = " free-threaded" if self.free_threaded else ""
        return f"{self.implementation} {self.version}{build}"

    @property
    def gil(self) -> str:
        return "on" if self.gil_enabled else "off"

    @property
    def key(self) -> str:
        """A stable identifier, such as ``cpython-3.13.5t``."""
        suffix = "t" if self.free_threaded else ""
        return f"{self.implementation.lower()}-{self.version}{suffix}"


@dataclass(frozen=True)
class Skipped:
    """A candidate found on PATH that could not be used, and why."""

    path: str
    reason: str


def probe(path: str, found_by: str) -> Interpreter:
    """Start `path` once and ask it what it is; raise InterpreterError if it fails."""
    try:
        done = subprocess.run(
            [path, "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InterpreterError(f"{path}: {error}") from error
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["no error message"])[-1]
        raise InterpreterError(f"{path}: exit status {done.returncode}: {last_line}")
    return Interpreter(path=path, found_by=found_by, **json.loads(done.stdout))


def discover() -> tuple[list[Interpreter], list[Skipped]]:
    """The build's Python, then GILBOOK_PYTHONS, then known names on PATH."""
    found = [probe(sys.executable, "the build's own Python")]
    skipped: list[Skipped] = []
    listed = [p for p in os.environ.get(PYTHONS_VARIABLE, "").split(os.pathsep) if p.strip()]
    for path in listed:
        found.append(probe(path.strip(), PYTHONS_VARIABLE))
    for name in NAMES_ON_PATH:
        on_path = shutil.which(name)
        if on_path is None:
            continue
        try:
            found.append(probe(on_path, "PATH"))
        except InterpreterError as error:
            skipped.append(Skipped(on_path, str(error)))
    return _unique(found, skipped), skipped


def _unique(found: list[Interpreter], skipped: list[Skipped]) -> list[Interpreter]:
    """Keep the first of several candidates with the same key: one column per key."""
    kept: dict[str, Interpreter] = {}
    for interpreter in found:
        first = kept.setdefault(interpreter.key, interpreter)
        if first is not interpreter:
            reason = f"same implementation, version and build as {first.path}"
            skipped.append(Skipped(interpreter.path, reason))
    return list(kept.values())


def export(interpreters: list[Interpreter], skipped: list[Skipped]) -> str:
    """Serialise a discovery so that the page kernels reuse it (see `resolved`)."""
    return json.dumps(
        {
            "interpreters": [asdict(i) for i in interpreters],
            "skipped": [asdict(s) for s in skipped],
        }
    )


def resolved() -> tuple[list[Interpreter], list[Skipped]]:
    """The build's discovery, passed down in the environment, or a new one."""
    exported = os.environ.get(RESOLVED_VARIABLE)
    if not exported:
        return discover()
    data = json.loads(exported)
    return (
        [Interpreter(**i) for i in data["interpreters"]],
        [Skipped(**s) for s in data["skipped"]],
    )
