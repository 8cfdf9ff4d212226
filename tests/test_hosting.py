"""The hosting configurations build the book exactly as a reader does, and are valid."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from helpers import ROOT

CONFIGURATIONS = {
    ".readthedocs.yaml": "vendor.readthedocs",
    ".github/workflows/pages.yml": "vendor.github-workflows",
}


@pytest.mark.parametrize(("path", "schema"), CONFIGURATIONS.items())
def test_configuration_matches_its_schema(path: str, schema: str) -> None:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, path]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", CONFIGURATIONS)
def test_configuration_builds_with_the_readers_nox_session(path: str) -> None:
    assert "python -m nox -s docs" in (ROOT / path).read_text()


def test_the_workflow_measures_a_current_free_threaded_python() -> None:
    workflow = (ROOT / ".github/workflows/pages.yml").read_text()
    minors = re.findall(r"python-version: \"?3\.(\d+)t\"?", workflow)
    assert any(int(minor) >= 14 for minor in minors), minors
