"""The chapters' prose types no measurement: numbers come through glue, and a published
figure is quoted with its source. Statements found wrong do not come back."""

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
# A published figure may stand in the prose only as a quotation, in a paragraph that
# links the primary source it comes from: the Python docs, a PEP or CPython itself.
QUOTED = re.compile(r'"[^"]*"')
PRIMARY_SOURCE = re.compile(
    r"https://(?:docs\.python\.org|peps\.python\.org|github\.com/python/cpython)/"
    r"|\{pep\}|\{pydoc\}"
)
PAGES = sorted((ROOT / "docs").glob("*.md"))
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# Statements that a check against the CPython docs, PEPs and source found wrong, with
# what is true instead. None may come back, on a page or in an example.
RETRACTED = {
    "is the reason the GIL exists": "one reason of several; see PEP 703",
    "can only do arithmetic on values": "x86 adds to memory; what matters is atomicity",
    "at a time in a process": "the GIL belongs to an interpreter (PEP 684)",
    "has its own interpreter, with its own GIL": "the GIL belongs to an interpreter",
    "python/cpython/pull/30826": "a pull request closed unmerged; the change is bpo-29988",
    "python/cpython/pull/113721": "a line-number fix; the change is bpo-29988",
    "function entry and the end of a loop": "switches also happen at calls: bpo-29988",
}
# The talk the book grew from is quoted as the talk, never passed off as the book's own.
TALK = (
    "What is this GIL thing that everybody loves to hate?",
    "the GIL restricts Python code to being run in only one thread at a time",
)


def paragraphs(page: Path) -> list[str]:
    prose = INLINE_CODE.sub("", FENCED.sub("", page.read_text(encoding="utf-8")))
    return [paragraph for paragraph in re.split(r"\n\s*\n", prose) if paragraph.strip()]


def words(path: Path) -> str:
    """The file's text on one line, so that a line break hides no phrase."""
    return " ".join(path.read_text(encoding="utf-8").split())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_no_measurement_is_typed_into_the_prose(page: Path) -> None:
    typed = [
        match.group(0)
        for paragraph in paragraphs(page)
        for match in MEASUREMENT.finditer(QUOTED.sub("", paragraph))
    ]
    assert not typed, f"glue these from the build instead: {typed}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_a_quoted_figure_links_its_source(page: Path) -> None:
    unsourced = [
        quote
        for paragraph in paragraphs(page)
        if not PRIMARY_SOURCE.search(paragraph)
        for quote in QUOTED.findall(paragraph)
        if MEASUREMENT.search(quote)
    ]
    assert not unsourced, f"link the primary source of these figures: {unsourced}"


@pytest.mark.parametrize("path", PAGES + EXAMPLES, ids=lambda p: p.name)
def test_no_retracted_statement_comes_back(path: Path) -> None:
    text = words(path)
    back = {phrase: why for phrase, why in RETRACTED.items() if phrase in text}
    assert not back, f"wrong, and corrected before: {back}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_the_talk_is_quoted_as_the_talk(page: Path) -> None:
    text = words(page)
    unquoted = [line for line in TALK if text.count(line) != text.count(f'"{line}')]
    assert not unquoted, f"quote the talk, or say it in the book's own words: {unquoted}"
