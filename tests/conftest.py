"""Fixtures shared by the tests."""

from __future__ import annotations

import pytest

from helpers import Build, build_book, copy_book


@pytest.fixture(scope="session")
def book(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The whole book, built once in quick mode from a fresh copy."""
    build = build_book(copy_book(tmp_path_factory.mktemp("book")))
    assert build.returncode == 0, build.log
    return build
