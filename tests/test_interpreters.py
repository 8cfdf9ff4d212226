"""Discovery: which interpreters the book finds, which twins it matches, what pages measure.

Stand-in interpreters (shell scripts that print a description) let these tests
arrange any PATH without installing anything.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gilbook.interpreters import (
    PYTHONS_VARIABLE,
    Interpreter,
    InterpreterError,
    discover,
    names_on_path,
    select,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="stand-ins are shell scripts")


def stand_in(folder: Path, name: str, version: str, *, free: bool = False, **facts: str) -> Path:
    """An executable `folder/name` that describes itself as CPython `version` (or `facts`)."""
    description = {
        "executable": str(folder / name),
        "implementation": facts.get("implementation", "CPython"),
        "version": version,
        "free_threaded": free,
        "gil_enabled": not free,
        "optimizations": facts.get("optimizations", "PGO and LTO"),
        "machine": {"cpu_model": "Stand-in CPU", "logical_cores": 2, "usable_cores": 2},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' '{json.dumps(description)}'\n")
    path.chmod(0o755)
    return path


def broken(folder: Path, name: str) -> Path:
    """An executable that fails as a version manager's shim does."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho 'shim: {name}: command not found' >&2\nexit 127\n")
    path.chmod(0o755)
    return path


Arrange = Callable[..., None]


@pytest.fixture
def only(monkeypatch: pytest.MonkeyPatch) -> Arrange:
    """Set PATH to the given folders and GILBOOK_PYTHONS to the given paths."""

    def arrange(path: list[Path], listed: list[Path] | None = None) -> None:
        monkeypatch.setenv("PATH", ":".join(map(str, path)))
        monkeypatch.setenv(PYTHONS_VARIABLE, ":".join(map(str, listed or [])))

    return arrange


def keys(found: list[Interpreter]) -> list[str]:
    return [i.key for i in found]


def test_names_on_path_are_the_ones_readers_have(only: Arrange, tmp_path: Path) -> None:
    wanted = ["python3.10", "python3.13t", "python3.14", "pypy3", "pypy3.11", "graalpy"]
    ignored = ["python3.9", "python3", "python3.13-config", "python3.13-gdb.py", "python3.14td"]
    for name in wanted + ignored:
        stand_in(tmp_path / "bin", name, "3.13.0")
    only([tmp_path / "bin"])
    assert sorted(Path(p).name for p in names_on_path()) == sorted(wanted)


def test_a_broken_shim_on_path_is_skipped_with_its_reason(only: Arrange, tmp_path: Path) -> None:
    broken(tmp_path / "shims", "python3.12")
    only([tmp_path / "shims"])
    found, skipped = discover()
    assert keys(found) == [found[0].key]  # only the build's own Python
    assert [s.reason for s in skipped] == ["exit status 127: shim: python3.12: command not found"]


def test_a_broken_listed_interpreter_is_one_line_naming_the_variable(
    only: Arrange, tmp_path: Path
) -> None:
    only([], [broken(tmp_path / "x", "python3.13")])
    with pytest.raises(InterpreterError) as error:
        discover()
    message = str(error.value)
    assert PYTHONS_VARIABLE in message and "command not found" in message
    assert len(message.splitlines()) == 1


def test_free_threaded_alone_has_no_twin_and_pages_compare_across_versions(
    only: Arrange, tmp_path: Path
) -> None:
    stand_in(tmp_path / "bin", "python3.13t", "3.13.5", free=True)
    only([tmp_path / "bin"])
    found, _ = discover()
    free = found[-1]
    assert (free.key, free.twin) == ("cpython-3.13.5t", "")
    assert keys(select(found)) == [found[0].key, "cpython-3.13.5t"]


def test_the_twin_is_found_beside_the_free_threaded_build(only: Arrange, tmp_path: Path) -> None:
    free = stand_in(tmp_path / "pair", "python3.14t", "3.14.1", free=True)
    stand_in(tmp_path / "pair", "python3.14", "3.14.1")
    stand_in(tmp_path / "bin", "python3.14", "3.14.0")  # on PATH, but another version
    only([tmp_path / "bin"], [free])
    found, _ = discover()
    by_key = {i.key: i for i in found}
    assert by_key["cpython-3.14.1t"].twin == "cpython-3.14.1"
    assert by_key["cpython-3.14.1"].found_by == f"beside {free}"
    assert keys(select(found))[1:] == ["cpython-3.14.1", "cpython-3.14.1t"]


def test_the_twin_is_found_on_path(only: Arrange, tmp_path: Path) -> None:
    stand_in(tmp_path / "ft", "python3.13t", "3.13.5", free=True)
    stand_in(tmp_path / "gil", "python3.13", "3.13.5")
    only([tmp_path / "ft", tmp_path / "gil"])
    found, _ = discover()
    assert {i.key: i.twin for i in found}["cpython-3.13.5t"] == "cpython-3.13.5"


def test_pages_measure_the_newest_pair_and_pypy_unless_they_ask_for_all(
    only: Arrange, tmp_path: Path
) -> None:
    bin_ = tmp_path / "bin"
    stand_in(bin_, "python3.13", "3.13.5", optimizations="none")
    stand_in(bin_, "python3.13t", "3.13.5", free=True, optimizations="none")
    stand_in(bin_, "python3.14", "3.14.1")
    stand_in(bin_, "python3.14t", "3.14.1", free=True)
    stand_in(bin_, "python3.15t", "3.15.0", free=True)  # newest, but without a twin
    stand_in(bin_, "pypy3.10", "3.10.14", implementation="PyPy", optimizations="")
    stand_in(bin_, "pypy3.11", "3.11.13", implementation="PyPy", optimizations="")
    only([bin_])
    found, _ = discover()
    assert keys(select(found)) == [
        found[0].key,
        "cpython-3.14.1",
        "cpython-3.14.1t",
        "pypy-3.11.13",
    ]
    assert keys(select(found, "all")) == keys(found)
    words = {i.key: i.build_flags for i in found}
    assert words["cpython-3.13.5"] == "built without PGO or LTO"
    assert words["cpython-3.14.1"] == "built with PGO and LTO"
    assert words["pypy-3.11.13"] == ""


def test_the_build_python_describes_its_machine() -> None:
    found, _ = discover()
    machine = found[0].machine
    assert machine["usable_cores"] >= 1 and machine["cpu_model"]
    assert found[0].optimizations in {"none", "PGO", "LTO", "PGO and LTO", "unknown", ""}
