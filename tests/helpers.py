"""Shared by the tests: the repository, its examples, its interpreters, quick book builds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from gilbook.build import sphinx_build_args
from gilbook.interpreters import Interpreter, discover
from gilbook.sphinx_ext import REPORT_FILE

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
INTERPRETERS, _SKIPPED = discover()


def interpreter_id(interpreter: Interpreter) -> str:
    return interpreter.key


@dataclass
class Build:
    """A finished sphinx-build of a copy of the book."""

    root: Path
    returncode: int
    log: str

    @property
    def html(self) -> Path:
        return self.root / "_build" / "html"

    def report(self) -> dict[str, dict[str, object]]:
        """Which pages this build re-read, and whether each one executed."""
        path = self.root / "_build" / "doctrees" / REPORT_FILE
        pages: dict[str, dict[str, object]] = json.loads(path.read_text())["pages"]
        return pages


def copy_book(destination: Path) -> Path:
    """Copy what a build needs (conf.py, docs/, examples/) without any build output."""
    ignore = shutil.ignore_patterns("_build", "__pycache__", ".jupyter_cache")
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "conf.py", destination / "conf.py")
    for folder in ("docs", "examples"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=ignore)
    return destination


def build_book(root: Path, timeout: float = 900, **environment: str) -> Build:
    """Build the book at `root` in quick mode, as `nox -s docs -- --quick` would."""
    env = {**os.environ, "GILBOOK_QUICK": "1", **environment}
    command = [sys.executable, "-m", "sphinx", *sphinx_build_args(root, root / "_build")]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Build(root, done.returncode, done.stdout + done.stderr)
