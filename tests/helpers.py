"""Shared by the tests: the repository, its examples, its interpreters, quick book builds."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
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
    """Build the book at `root` in quick mode, as `nox -s docs -- --quick` would.

    The log interleaves stdout and stderr as a terminal shows them.
    """
    env = {**os.environ, "GILBOOK_QUICK": "1", **environment}
    # --no-color: the log is read as text, whatever the environment asks of colour.
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "--no-color",
        *sphinx_build_args(root, root / "_build"),
    ]
    done = subprocess.run(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Build(root, done.returncode, done.stdout)


def write_wheel(folder: Path, name: str = "tinydep", version: str = "1.0") -> Path:
    """A pure-Python wheel holding one module, ``VALUE = 42``."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: gilbook-tests\n"
            "Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{path},sha256={encoded},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def offline_pip(wheels: Path) -> dict[str, str]:
    """Environment variables that make pip install from `wheels` only, ignoring its config."""
    return {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
