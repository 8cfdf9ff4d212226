"""Build, test and check the book. `nox -l` lists the sessions."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["docs", "tests", "lint"]

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "docs"))
from gilbook.build import sphinx_build_args
from gilbook.fetch import NO_FETCH_FLAG, fetch_free_threaded_pair, fetch_wanted
from gilbook.interpreters import discover

PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")


def install(session: nox.Session, group: str) -> None:
    """Install one dependency group from pyproject.toml into the session's venv."""
    session.install(*nox.project.dependency_groups(PYPROJECT, group))


def sphinx_args(session: nox.Session) -> tuple[list[str], dict[str, str]]:
    """sphinx-build arguments and environment for `docs` and `serve`.

    `--quick` runs every example in quick mode and builds into _build/quick;
    `--fresh` empties the execution cache and re-reads every page, so that
    every example runs again; `--no-fetch` (or GILBOOK_FETCH=0) does not ask uv
    for a free-threaded CPython when none is found. Other arguments go to sphinx-build.
    """
    posargs = list(session.posargs)
    quick, fresh = "--quick" in posargs, "--fresh" in posargs
    extra = [arg for arg in posargs if arg not in {"--quick", "--fresh", NO_FETCH_FLAG}]
    build = ROOT / "_build" / ("quick" if quick else "")
    if fresh:
        shutil.rmtree(build / ".jupyter_cache", ignore_errors=True)
    args = sphinx_build_args(ROOT, build, fresh=fresh) + extra
    env = {"GILBOOK_QUICK": "1" if quick else "0"}
    if fetch_wanted(posargs, os.environ) and (fetched := fetched_pythons(session)):
        listed = os.environ.get("GILBOOK_PYTHONS", "")
        env["GILBOOK_PYTHONS"] = os.pathsep.join([listed, *fetched] if listed else fetched)
    return args, env


def fetched_pythons(session: nox.Session) -> list[str]:
    """A default and a free-threaded CPython from uv, if no interpreter found is free-threaded."""
    if any(interpreter.free_threaded for interpreter in discover()[0]):
        return []
    uv = shutil.which("uv", path=session.bin) or shutil.which("uv") or "uv"
    paths, message = fetch_free_threaded_pair(uv)
    session.log(message)
    return paths


@nox.session
def docs(session: nox.Session) -> None:
    """Build the book into _build/html, running the examples (-- --fresh, --quick, --no-fetch)."""
    install(session, "docs")
    args, env = sphinx_args(session)
    session.run("sphinx-build", *args, env=env)


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Rebuild the book on every change and serve it at http://127.0.0.1:8000."""
    install(session, "serve")
    args, env = sphinx_args(session)
    session.run("sphinx-autobuild", "--watch", str(ROOT / "examples"), *args, env=env)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite, which builds the book in quick mode (pytest options after --)."""
    install(session, "test")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style, formatting and types with ruff and mypy."""
    install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
