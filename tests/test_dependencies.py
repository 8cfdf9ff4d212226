"""Examples that declare dependencies (PEP 723) run in cached virtual environments.

pip installs from a folder holding one tiny wheel made here: the tests use no network.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gilbook import environments
from gilbook.environments import (
    LOCK,
    MARKER,
    DependencyUnavailable,
    ScriptMetadataError,
    python_for,
    script_metadata,
    venv_python,
)
from gilbook.interpreters import Interpreter
from helpers import INTERPRETERS as FOUND
from helpers import interpreter_id, offline_pip, write_wheel

BUILD_PYTHON = FOUND[0]
# The build's Python, and a free-threaded one where there is one.
INTERPRETERS = [BUILD_PYTHON, *[i for i in FOUND if i.free_threaded][:1]]


@pytest.fixture
def wheelhouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip finds packages in a local folder only, and ignores this machine's pip configuration."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    write_wheel(folder)
    for variable in list(os.environ):
        if variable.startswith("PIP_"):
            monkeypatch.delenv(variable)
    for variable, value in offline_pip(folder).items():
        monkeypatch.setenv(variable, value)
    return folder


def script(folder: Path, block: str, name: str = "example.py") -> Path:
    path = folder / name
    path.write_text(f'"""An example."""\n\n{block}\nprint("hello")\n', encoding="utf-8")
    return path


def block(*dependencies: str, requires_python: str = ">=3.9") -> str:
    listed = ", ".join(f'"{dependency}"' for dependency in dependencies)
    return (
        "# /// script\n"
        f'# requires-python = "{requires_python}"\n'
        f"# dependencies = [{listed}]\n"
        "# ///\n"
    )


def environments_in(cache: Path) -> list[str]:
    return sorted(entry.name for entry in cache.iterdir() if entry.name != LOCK)


def can_import_tinydep(python: str) -> bool:
    done = subprocess.run(
        [python, "-c", "import tinydep; print(tinydep.VALUE)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and done.stdout.strip() == "42"


# --- Reading the block ---------------------------------------------------------------------


def test_no_block(tmp_path: Path) -> None:
    assert script_metadata(script(tmp_path, "# An ordinary comment.\n")) == {}


def test_block_with_dependencies(tmp_path: Path) -> None:
    text = (
        "# /// script\n"
        '# requires-python = ">=3.9"\n'
        "# dependencies = [\n"
        '#   "numpy>=2",\n'
        '#   "dask[array]",\n'
        "# ]\n"
        "#\n"
        "# [tool.gilbook]\n"
        "# note = 'a comment line with only # above is allowed'\n"
        "# ///\n"
    )
    assert script_metadata(script(tmp_path, text)) == {
        "requires-python": ">=3.9",
        "dependencies": ["numpy>=2", "dask[array]"],
        "tool": {"gilbook": {"note": "a comment line with only # above is allowed"}},
    }


def test_two_blocks_are_an_error(tmp_path: Path) -> None:
    path = script(tmp_path, block("numpy") + "\n" + block("dask"))
    with pytest.raises(ScriptMetadataError, match="2 '# /// script' blocks"):
        script_metadata(path)


def test_a_block_that_is_not_toml_is_an_error(tmp_path: Path) -> None:
    path = script(tmp_path, "# /// script\n# dependencies = [numpy]\n# ///\n")
    with pytest.raises(ScriptMetadataError, match="not TOML"):
        script_metadata(path)


def test_other_block_types_and_unclosed_blocks_are_ignored(tmp_path: Path) -> None:
    text = '# /// pyproject\n# name = "x"\n# ///\n\n# /// script\n# dependencies = ["numpy"]\n'
    assert script_metadata(script(tmp_path, text)) == {}


def test_venv_python_layouts() -> None:
    assert venv_python(Path("env"), windows=True) == Path("env/Scripts/python.exe")
    assert venv_python(Path("env"), windows=False) == Path("env/bin/python")


def test_requires_python_check() -> None:
    check = environments._satisfies
    assert check("3.13.5", ">=3.9")
    assert check("3.9.18", ">=3.9, <3.14")
    assert not check("3.14.0", ">=3.9,<3.14")
    assert not check("3.11.7", ">=3.12")
    assert check("3.13.5", "==3.13.*")
    assert not check("3.13.5", "==3.13")
    assert not check("3.12.1", "!=3.12.*")


# --- Environments --------------------------------------------------------------------------


def test_no_dependencies_means_the_interpreter_itself(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for text in ("", block(), "# /// script\n# ///\n"):
        path = script(tmp_path, text)
        assert python_for(path, BUILD_PYTHON, cache) == BUILD_PYTHON.path
    assert not cache.exists()


def test_requires_python_not_satisfied(tmp_path: Path) -> None:
    path = script(tmp_path, block("tinydep", requires_python=">=99"))
    with pytest.raises(DependencyUnavailable, match=r"needs Python >=99") as raised:
        python_for(path, BUILD_PYTHON, tmp_path / "cache")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_environment_is_made_then_reused(
    interpreter: Interpreter, tmp_path: Path, wheelhouse: Path
) -> None:
    cache = tmp_path / "cache"
    path = script(tmp_path, block("tinydep"))
    if interpreter.free_threaded and (environments._pip_version() or (0,)) < (24, 1):
        with pytest.raises(DependencyUnavailable, match=r"pip .* too old"):
            python_for(path, interpreter, cache)
        return
    assert not can_import_tinydep(interpreter.path)

    python = python_for(path, interpreter, cache)
    assert python != interpreter.path
    assert Path(python).is_relative_to(cache)
    assert can_import_tinydep(python)
    environment = Path(python).parents[1]
    assert environment.name.startswith(f"{interpreter.key}-")
    made = (environment / MARKER).stat().st_mtime_ns
    assert environments_in(cache) == [environment.name]

    # The next build reuses it as it is; pip is not run at all.
    (wheelhouse / "tinydep-1.0-py3-none-any.whl").unlink()
    assert python_for(path, interpreter, cache) == python
    assert (environment / MARKER).stat().st_mtime_ns == made

    # Editing the block names another environment.
    write_wheel(wheelhouse)
    script(tmp_path, block("tinydep==1.0"))
    other = python_for(path, interpreter, cache)
    assert other != python
    assert can_import_tinydep(other)
    assert len(environments_in(cache)) == 2


def test_a_half_made_environment_is_not_reused(tmp_path: Path, wheelhouse: Path) -> None:
    cache = tmp_path / "cache"
    path = script(tmp_path, block("tinydep"))
    python = Path(python_for(path, BUILD_PYTHON, cache))
    environment = python.parents[1]
    (environment / MARKER).unlink()  # as if the installation had been interrupted
    (environment / "stale").touch()
    assert python_for(path, BUILD_PYTHON, cache) == str(python)
    assert (environment / MARKER).is_file()
    assert not (environment / "stale").exists()  # made again from scratch
    assert can_import_tinydep(str(python))


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_a_package_that_cannot_be_had(
    interpreter: Interpreter, tmp_path: Path, wheelhouse: Path
) -> None:
    cache = tmp_path / "cache"
    path = script(tmp_path, block("nosuchpackage-gilbook"))
    with pytest.raises(DependencyUnavailable) as raised:
        python_for(path, interpreter, cache)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("nosuchpackage-gilbook could not be installed for CPython 3.")
    assert not cache.exists() or environments_in(cache) == []  # nothing half-made is left
