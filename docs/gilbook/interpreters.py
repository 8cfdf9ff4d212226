"""Find the Python interpreters that the book measures its examples under.

The build's own Python always comes first. Then come the paths listed in the
``GILBOOK_PYTHONS`` environment variable (separated by ``os.pathsep``), then
every ``python3.N`` and ``python3.Nt`` (N from 10 up), ``pypy3*`` and
``graalpy*`` found on ``PATH``. Each candidate is started once, running
`gilbook.provenance` to say what it is and on what machine; one found on PATH
that does not start (a version manager's shim, say) is skipped and reported,
while a listed one that does not start is an error.

A free-threaded CPython is compared with its *twin*: the default build of the
same version: one found already, or else one beside it in the same folder. Only a
twin measures what free threading itself costs; any other comparison mixes in
the differences between versions, and the book labels it as such.

A page measures a selection (`select`): by default the build's Python, the
newest free-threaded interpreter with its twin, and the newest PyPy; a page
about how versions differ asks for all of them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

PYTHONS_VARIABLE = "GILBOOK_PYTHONS"
RESOLVED_VARIABLE = "GILBOOK_RESOLVED_INTERPRETERS"
# python3.10 to python3.99 and their free-threaded twins, PyPy and GraalPy, by any version.
NAME_ON_PATH = re.compile(r"python3\.(1\d|[2-9]\d)t?|pypy3(\.\d+)?|graalpy(\d+(\.\d+)*)?")
DESCRIBE_SCRIPT = Path(__file__).resolve().with_name("provenance.py")
Selection = Literal["default", "all"]


class InterpreterError(RuntimeError):
    """An interpreter that was asked for explicitly does not work."""


@dataclass(frozen=True)
class Interpreter:
    """One interpreter, as it describes itself (see `gilbook.provenance.describe`)."""

    path: str
    executable: str
    implementation: str
    version: str
    free_threaded: bool
    gil_enabled: bool
    optimizations: str  # "PGO and LTO", "none", ...; "" where it does not apply
    machine: dict[str, Any]  # CPU, cores, OS and start method, as this interpreter sees them
    found_by: str
    twin: str = ""  # for a free-threaded CPython, the key of its default-build twin

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

    @property
    def release(self) -> tuple[int, ...]:
        """The version as numbers, for sorting: (3, 13, 5)."""
        return tuple(int(part) for part in re.findall(r"\d+", self.version)[:3])

    @property
    def build_flags(self) -> str:
        """How it was compiled, in words ("built with PGO and LTO"); empty if unknown."""
        if self.optimizations in {"", "unknown"}:
            return ""
        if self.optimizations == "none":
            return "built without PGO or LTO"
        return f"built with {self.optimizations}"


@dataclass(frozen=True)
class Skipped:
    """A candidate found on PATH that could not be used, and why."""

    path: str
    reason: str


def probe(path: str, found_by: str) -> Interpreter:
    """Start `path` once and ask it what it is; raise InterpreterError if it fails."""
    try:
        done = subprocess.run(
            [path, str(DESCRIBE_SCRIPT)], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InterpreterError(f"{path}: {error}") from error
    if done.returncode != 0:
        raise InterpreterError(f"{path}: exit status {done.returncode}: {gist(done.stderr)}")
    try:
        return Interpreter(path=path, found_by=found_by, **json.loads(done.stdout))
    except (ValueError, TypeError) as error:
        raise InterpreterError(f"{path}: did not describe itself ({error})") from None


def gist(stderr: str) -> str:
    """The line of an error output that says what went wrong."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()] or ["no error message"]
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


def names_on_path() -> list[str]:
    """Every interpreter on PATH with a name the book looks for, first match of each name."""
    found: dict[str, str] = {}
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        try:
            entries = sorted(Path(folder).iterdir()) if folder else []
        except OSError:
            continue
        for entry in entries:
            name = entry.name.removesuffix(".exe")
            if NAME_ON_PATH.fullmatch(name) and os.access(entry, os.X_OK) and entry.is_file():
                found.setdefault(name, str(entry))
    return list(found.values())


def listed_paths() -> list[str]:
    """The paths in GILBOOK_PYTHONS, in order."""
    value = os.environ.get(PYTHONS_VARIABLE, "")
    return [path.strip() for path in value.split(os.pathsep) if path.strip()]


def discover() -> tuple[list[Interpreter], list[Skipped]]:
    """The build's Python, then GILBOOK_PYTHONS, then the names on PATH; twins matched."""
    found = [probe(sys.executable, "the build's own Python")]
    skipped: list[Skipped] = []
    for path in listed_paths():
        try:
            found.append(probe(path, PYTHONS_VARIABLE))
        except InterpreterError as error:
            raise InterpreterError(
                f"{PYTHONS_VARIABLE} lists an interpreter that does not work: {error}"
            ) from None
    seen = {os.path.realpath(i.path) for i in found}
    for path in names_on_path():
        if os.path.realpath(path) in seen:
            continue
        seen.add(os.path.realpath(path))
        try:
            found.append(probe(path, "PATH"))
        except InterpreterError as error:
            skipped.append(Skipped(path, str(error).removeprefix(f"{path}: ")))
    return match_twins(unique(found, skipped), skipped), skipped


def unique(found: list[Interpreter], skipped: list[Skipped]) -> list[Interpreter]:
    """Keep the first of several candidates with the same key: one column per key."""
    kept: dict[str, Interpreter] = {}
    for interpreter in found:
        first = kept.setdefault(interpreter.key, interpreter)
        if first is not interpreter:
            reason = f"same implementation, version and build as {first.path}"
            skipped.append(Skipped(interpreter.path, reason))
    return list(kept.values())


def is_twin(candidate: Interpreter, free: Interpreter) -> bool:
    """Whether `candidate` is the default build of the same CPython version as `free`."""
    return (
        candidate.implementation == free.implementation == "CPython"
        and not candidate.free_threaded
        and candidate.version == free.version
    )


def match_twins(found: list[Interpreter], skipped: list[Skipped]) -> list[Interpreter]:
    """Give every free-threaded CPython its twin: one found already, or one beside it."""
    result = list(found)
    for free in found:
        if not (free.free_threaded and free.implementation == "CPython"):
            continue
        twin = next((i for i in result if is_twin(i, free)), None) or twin_beside(free, skipped)
        if twin is None:
            continue
        if twin not in result:
            result.append(twin)
        result[result.index(free)] = replace(free, twin=twin.key)
    return result


def twin_beside(free: Interpreter, skipped: list[Skipped]) -> Interpreter | None:
    """The default build in the same folder as `free` (``python3.13`` beside ``python3.13t``)."""
    major_minor = ".".join(free.version.split(".")[:2])
    beside = Path(free.path).with_name(f"python{major_minor}")
    if not beside.is_file():
        return None
    try:
        candidate = probe(str(beside), f"beside {free.path}")
    except InterpreterError as error:
        skipped.append(Skipped(str(beside), str(error).removeprefix(f"{beside}: ")))
        return None
    return candidate if is_twin(candidate, free) else None


def select(found: list[Interpreter], which: Selection = "default") -> list[Interpreter]:
    """The interpreters a page measures: every one, or the build's Python, the newest
    free-threaded pair (the newest with a twin, else the newest alone) and the newest PyPy."""
    if which == "all":
        return list(found)
    by_key = {i.key: i for i in found}
    free = sorted((i for i in found if i.free_threaded), key=lambda i: i.release)
    paired = [i for i in free if i.twin in by_key]
    chosen = [found[0]]
    if paired:
        chosen += [by_key[paired[-1].twin], paired[-1]]
    elif free:
        chosen.append(free[-1])
    pypy = sorted((i for i in found if i.implementation == "PyPy"), key=lambda i: i.release)
    chosen += pypy[-1:]
    return list({i.key: i for i in chosen}.values())


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
