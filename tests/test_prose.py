"""No measurement is typed by hand: the chapters' prose quotes numbers only through glue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import ROOT

# Fenced blocks (code cells, listings, directives) and inline code are not prose.
FENCED = re.compile(r"^(`{3,}|~{3,}|:{3,}).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`]*`")
# What a measurement looks like in English: 1.98×, 12 ms, 0.4 seconds, 40%, 3.5 times.
MEASUREMENT = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:×|x\b|ms\b|µs\b|s\b|seconds?\b|%|per ?cent\b|times\b)",
    re.IGNORECASE,
)
PAGES = sorted((ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_no_measurement_is_typed_into_the_prose(page: Path) -> None:
    prose = INLINE_CODE.sub("", FENCED.sub("", page.read_text(encoding="utf-8")))
    typed = [match.group(0) for match in MEASUREMENT.finditer(prose)]
    assert not typed, f"glue these from the build instead: {typed}"
