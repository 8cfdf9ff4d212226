"""Rebuilds: never stale, never wasteful, and loud when an example breaks."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from helpers import INTERPRETERS, ROOT, build_book, copy_book, offline_pip, write_wheel

CHAPTER = "cpu-bound-threads-vs-processes"
SCRIPT = "cpu_threads_vs_processes.py"


def test_rebuilds_execute_exactly_what_changed(tmp_path: Path) -> None:
    root = copy_book(tmp_path)
    first = build_book(root)
    assert first.returncode == 0, first.log
    assert all(page["executed"] for page in first.report().values())

    unchanged = build_book(root)
    assert unchanged.returncode == 0, unchanged.log
    assert unchanged.report() == {}, "a rebuild with no change re-read or executed a page"

    script = root / "examples" / SCRIPT
    script.write_text(script.read_text() + "\n# an edit\n")
    edited = build_book(root)
    assert edited.returncode == 0, edited.log
    assert {name: page["executed"] for name, page in edited.report().items()} == {CHAPTER: True}

    page = root / "docs" / f"{CHAPTER}.md"
    page.write_text(page.read_text() + "\nA new closing sentence.\n")
    prose_only = build_book(root)
    assert prose_only.returncode == 0, prose_only.log
    assert {name: p["executed"] for name, p in prose_only.report().items()} == {CHAPTER: False}
    html = (prose_only.html / f"{CHAPTER}.html").read_text()
    assert "Reused from the execution cache" in html
    assert "A new closing sentence." in html


def tiny_book(root: Path, example: str) -> Path:
    """A one-page book, with the real configuration, that runs one given example."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "conf.py", root / "conf.py")
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("docs/gilbook", "docs/_static"):
        shutil.copytree(ROOT / folder, root / folder, ignore=ignore)
    (root / "examples").mkdir()
    (root / "examples" / "bad.py").write_text(example)
    (root / "examples" / "README.md").write_text("# The example contract\n")
    (root / "docs" / "index.md").write_text(
        "---\nfile_format: mystnb\nkernelspec:\n  name: python3\n---\n\n# Tiny\n\n"
        "```{code-cell} python\nfrom gilbook.runner import run_example\n\n"
        'run_example("bad.py")\n```\n'
    )
    return root


def timing_example(dependency: str) -> str:
    """An example that needs `dependency` (PEP 723) and prints one timing."""
    timing = {"variant": "a", "label": "a", "seconds": [0.5], "median": 0.5, "min": 0.5, "max": 0.5}
    document = {"example": "dep", "claim": "c", "gil_enabled": True, "baseline": "a"}
    document |= {"parameters": {"repeats": 1, "quick": True}, "timings": [timing]}
    return (
        f'# /// script\n# dependencies = ["{dependency}"]\n# ///\n'
        f"import json, {dependency.replace('-', '_')}\nprint(json.dumps({document!r}))\n"
    )


def test_an_example_runs_with_its_dependencies_or_says_why_not(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels)
    offline = offline_pip(wheels) | {"GILBOOK_ENVIRONMENTS": str(tmp_path / "environments")}
    good = build_book(tiny_book(tmp_path / "good", timing_example("tinydep")), 900, **offline)
    assert good.returncode == 0, good.log
    html = (good.html / "index.html").read_text()
    assert "not measured" not in html and "gilbook-median" in html
    missing = "nosuchpackage-gilbook"
    bad = build_book(tiny_book(tmp_path / "bad", timing_example(missing)), 900, **offline)
    assert bad.returncode == 0, bad.log
    html = (bad.html / "index.html").read_text()
    assert "Not measured:" in html and f"{missing} could not be installed" in html


def test_a_failing_example_fails_the_build_and_shows_its_stderr(tmp_path: Path) -> None:
    example = "import sys\nprint('the example broke: 42', file=sys.stderr)\nsys.exit(3)\n"
    build = build_book(tiny_book(tmp_path, example))
    assert build.returncode != 0
    assert "the example broke: 42" in build.log
    assert "exit status 3" in build.log


def test_a_hanging_example_fails_the_build_within_its_timeout(tmp_path: Path) -> None:
    example = (
        "import sys, time\nprint('stuck here', file=sys.stderr, flush=True)\ntime.sleep(600)\n"
    )
    start = time.monotonic()
    build = build_book(tiny_book(tmp_path, example), GILBOOK_EXAMPLE_TIMEOUT="3")
    assert build.returncode != 0
    assert time.monotonic() - start < 120
    assert "timed out after 3 s" in build.log
    assert "stuck here" in build.log


def test_without_free_threading_the_book_builds_and_says_so(tmp_path: Path) -> None:
    only_the_build_python = str(Path(sys.executable).parent)
    build = build_book(copy_book(tmp_path), PATH=only_the_build_python, GILBOOK_PYTHONS="")
    assert build.returncode == 0, build.log
    chapter = (build.html / f"{CHAPTER}.html").read_text()
    assert "No free-threaded interpreter was available to this build" in chapter
    assert "This build had no free-threaded interpreter" in chapter
    about = (build.html / "about-these-numbers.html").read_text()
    assert "No free-threaded interpreter was found" in about


def test_without_its_twin_a_free_threaded_python_is_compared_across_versions(
    tmp_path: Path,
) -> None:
    free = next((i for i in INTERPRETERS if i.free_threaded), None)
    if free is None:
        pytest.skip("no free-threaded interpreter to put on PATH alone")
    alone = tmp_path / "bin"
    alone.mkdir()
    (alone / Path(free.path).name).symlink_to(free.path)
    path = os.pathsep.join([str(alone), str(Path(sys.executable).parent)])
    build = build_book(copy_book(tmp_path / "book"), PATH=path, GILBOOK_PYTHONS="")
    assert build.returncode == 0, build.log
    chapter = (build.html / f"{CHAPTER}.html").read_text()
    assert "a cross-version comparison" in chapter
    assert f"no default build of CPython {'.'.join(free.version.split('.')[:2])}" in chapter
