"""Give an example that needs a package a virtual environment to run in.

An example that imports a third-party package (NumPy, Cython, Dask...) declares it the
standard way for a standalone script, with an inline script metadata block (PEP 723)::

    # /// script
    # requires-python = ">=3.9"
    # dependencies = ["numpy"]
    # ///

so that a reader who copies the file runs it with ``uv run file.py`` or ``pipx run file.py``.
The book honours the same block, so that what it measures is what the reader runs: for each
interpreter it makes a virtual environment holding exactly those dependencies and runs the
example with that environment's Python.

Environments live under a cache folder, one per interpreter and dependency list, named by the
interpreter's key and a short hash of the list and the interpreter's path. They are reused
across builds; editing the block names a new one. A marker file is written into an environment
only once its installation succeeded, so a half-made one, left by an interrupted build, is made
again rather than trusted; a lock keeps two builds from making one at the same time.

The environment is made with the interpreter's own ``venv`` module (without pip), and the
packages are installed by the build's pip pointed at it with ``--python``; pip honours its
``PIP_*`` environment variables, so a folder of wheels can stand in for the package index.
pip runs its own code under the target interpreter, so the build's pip decides which wheels fit:
it must be 22.3 or later, and 24.1 or later for a free-threaded build (older ones install the
GIL build's wheels there, whose extension modules do not load).

A package that cannot be had for an interpreter (no wheel for a free-threaded build, no
compiler, no network) must not fail the build: `python_for` raises `DependencyUnavailable`
with a one-line reason, and the caller shows that interpreter's column as not measured.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from gilbook.interpreters import Interpreter

# The regular expression of the specification's reference implementation.
BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")

#: Written into each finished environment: what it was made for.
MARKER = "gilbook-environment.json"

#: Held in the cache folder while an environment is being made.
LOCK = ".lock"

#: pip learnt ``--python`` in 22.3, and the wheel tags of free-threaded builds in 24.1.
PIP_WITH_PYTHON_OPTION = (22, 3)
PIP_FOR_FREE_THREADED = (24, 1)

#: Seconds allowed for making one environment and for one installation.
VENV_TIMEOUT = 300
INSTALL_TIMEOUT = 1800


class ScriptMetadataError(ValueError):
    """An example's inline script metadata is malformed: the example's author must fix it."""


class DependencyUnavailable(RuntimeError):
    """An example's dependencies cannot be had for one interpreter; the reason is one line."""


def script_metadata(script: Path) -> dict[str, Any]:
    """The example's ``# /// script`` block, parsed; ``{}`` when it has none."""
    text = script.read_text(encoding="utf-8")
    blocks = [match for match in BLOCK.finditer(text) if match.group("type") == "script"]
    if not blocks:
        return {}
    if len(blocks) > 1:
        raise ScriptMetadataError(
            f"{script}: {len(blocks)} '# /// script' blocks; inline script metadata allows one"
        )
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in blocks[0].group("content").splitlines(keepends=True)
    )
    try:
        metadata = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        raise ScriptMetadataError(
            f"{script}: its '# /// script' block is not TOML: {error}"
        ) from None
    dependencies = metadata.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise ScriptMetadataError(f"{script}: 'dependencies' must be a list of strings")
    if not isinstance(metadata.get("requires-python", ""), str):
        raise ScriptMetadataError(f"{script}: 'requires-python' must be a string")
    return metadata


def venv_python(environment: Path, *, windows: bool = os.name == "nt") -> Path:
    """The Python of a virtual environment: ``Scripts/python.exe`` on Windows, else ``bin/python``."""
    if windows:
        return environment / "Scripts" / "python.exe"
    return environment / "bin" / "python"


def environment_name(dependencies: list[str], interpreter: Interpreter) -> str:
    """The folder name of the environment for this dependency list under this interpreter."""
    identity = json.dumps({"interpreter": interpreter.path, "dependencies": dependencies})
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return f"{interpreter.key}-{digest}"


def python_for(script: Path, interpreter: Interpreter, cache: Path) -> str:
    """The Python to run `script` with under this interpreter.

    That is the interpreter itself when the script declares no dependencies, otherwise the
    Python of a virtual environment under `cache` holding them, made if it is missing. Raises
    `DependencyUnavailable` if the interpreter does not satisfy the script's
    ``requires-python`` or the environment cannot be made.
    """
    metadata = script_metadata(script)
    dependencies: list[str] = metadata.get("dependencies", [])
    requires_python: str | None = metadata.get("requires-python")
    if requires_python is not None and not _satisfies(interpreter.version, requires_python):
        raise DependencyUnavailable(
            f"{script.name} needs Python {requires_python}, "
            f"which {interpreter.label} does not satisfy"
        )
    if not dependencies:
        return interpreter.path
    environment = cache / environment_name(dependencies, interpreter)
    if not (environment / MARKER).is_file():
        _make(environment, dependencies, interpreter)
    return str(venv_python(environment))


def _make(environment: Path, dependencies: list[str], interpreter: Interpreter) -> None:
    """Make the environment and install the dependencies; write the marker last."""
    what = ", ".join(dependencies)

    def unavailable(reason: str) -> DependencyUnavailable:
        return DependencyUnavailable(
            f"{what} could not be installed for {interpreter.label}: {reason}"
        )

    pip = _pip_version()
    if pip is None:
        raise unavailable(f"the build's Python ({sys.executable}) has no pip")
    needed = PIP_FOR_FREE_THREADED if interpreter.free_threaded else PIP_WITH_PYTHON_OPTION
    if pip < needed:
        raise unavailable(
            f"the build's pip {'.'.join(map(str, pip))} is too old"
            f" (pip {'.'.join(map(str, needed))} or later is needed)"
        )
    with _locked(environment.parent):
        if (environment / MARKER).is_file():
            return  # another build made it while this one waited
        if environment.exists():
            shutil.rmtree(environment)  # half-made: its installation was interrupted
        try:
            _run(
                [interpreter.path, "-m", "venv", "--without-pip", str(environment)],
                VENV_TIMEOUT,
                lambda reason: unavailable(f"its virtual environment could not be made: {reason}"),
            )
            _run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "--python",
                    str(venv_python(environment)),
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    *dependencies,
                ],
                INSTALL_TIMEOUT,
                unavailable,
            )
        except BaseException:
            shutil.rmtree(environment, ignore_errors=True)
            raise
        marker = {
            "interpreter": interpreter.path,
            "label": interpreter.label,
            "dependencies": dependencies,
        }
        (environment / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[None]:
    """Hold the cache's lock, so that two builds never make an environment at the same time."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / LOCK).open("a") as handle:
        if sys.platform != "win32":  # the lock goes with the process, however it ends
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _run(
    command: list[str], timeout: int, unavailable: Callable[[str], DependencyUnavailable]
) -> None:
    """Run a command; raise what `unavailable` makes of its last error if it fails."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise unavailable(f"gave up after {timeout} s") from None
    except OSError as error:
        raise unavailable(str(error)) from None
    if done.returncode != 0:
        raise unavailable(
            _last_error(done.stderr + done.stdout) or f"exit status {done.returncode}"
        )


def _last_error(output: str) -> str:
    """pip's last line that says ``ERROR:``, else the last non-empty line, on one line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    last = errors[-1].removeprefix("ERROR:").strip() if errors else (lines[-1] if lines else "")
    return " ".join(last.split())


def _pip_version() -> tuple[int, ...] | None:
    try:
        version = importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return None
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def _satisfies(version: str, requires_python: str) -> bool:
    """Whether a Python version satisfies a ``requires-python`` specifier."""
    try:
        return SpecifierSet(requires_python).contains(version, prereleases=True)
    except InvalidSpecifier:
        raise ScriptMetadataError(f"'requires-python = {requires_python!r}' is not valid") from None
