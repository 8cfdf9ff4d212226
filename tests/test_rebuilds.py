"""Rebuilds: never stale, never wasteful, and loud when an example breaks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gilbook.sphinx_ext import (
    BANNER_START,
    FAILED_FILE,
    clear_failed_build,
    html_pages,
    mark_failed_build,
)
from helpers import INTERPRETERS, ROOT, Build, build_book, copy_book, offline_pip, write_wheel

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


def good_example() -> str:
    """An example that prints one timing, and needs nothing but Python."""
    timing = {"variant": "a", "label": "a", "seconds": [0.5], "median": 0.5, "min": 0.5, "max": 0.5}
    document = {"example": "bad", "claim": "c", "gil_enabled": True, "baseline": "a"}
    document |= {"parameters": {"repeats": 1, "quick": True}, "timings": [timing]}
    return f"import json\nprint(json.dumps({document!r}))\n"


def pages_claiming_freshness_without_the_banner(html: Path) -> list[str]:
    return [
        page.name
        for page in html_pages(html)
        if "Executed fresh" in (text := page.read_text()) and BANNER_START not in text
    ]


def test_a_failed_build_marks_the_site_and_ends_its_log_with_the_examples_stderr(
    tmp_path: Path,
) -> None:
    """A good build; the example breaks; a warning fails the build; all is well again."""
    root = tiny_book(tmp_path, good_example())

    def build() -> Build:  # west of Greenwich, where the cache's times read as later ones
        return build_book(root, TZ="EST5")

    good = build()
    assert good.returncode == 0, good.log
    page = good.html / "index.html"
    assert "Executed fresh by the build of " in page.read_text()
    assert "without encryption" not in good.log, "the kernel's TCP warning is back"
    unchanged = build()
    assert unchanged.returncode == 0, unchanged.log
    assert "The configuration has changed" not in unchanged.log

    example = "import sys\nprint('the example broke: 42', file=sys.stderr)\nsys.exit(3)\n"
    (root / "examples" / "bad.py").write_text(example)
    broken = build()
    assert broken.returncode != 0
    assert pages_claiming_freshness_without_the_banner(broken.html) == []
    assert "This page is from an earlier build" in page.read_text()
    assert (broken.html / FAILED_FILE).is_file()
    *_, stderr, reproduce = broken.log.strip().splitlines()
    assert stderr.strip() == "the example broke: 42", broken.log
    assert reproduce.startswith('To reproduce it: cd "$(mktemp -d)" && '), broken.log
    assert reproduce.endswith(f"{root / 'examples' / 'bad.py'} --json --quick"), broken.log
    assert broken.log.count("gilbook: summary") == 1, broken.log
    assert "pages re-read: 1; executed: 0 (0.0 s); cached: 0; failed: 1" in broken.log
    assert "Traceback" not in broken.log and "report this" not in broken.log, broken.log
    if os.name != "nt":
        command = reproduce.removeprefix("To reproduce it: ")
        rerun = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
        assert (rerun.returncode, rerun.stderr) == (3, "the example broke: 42\n")

    (root / "examples" / "bad.py").write_text(good_example())
    (root / "docs" / "index.md").write_text(
        (root / "docs" / "index.md").read_text() + "\nSee {ref}`nowhere`.\n"
    )
    warned = build()
    assert warned.returncode != 0, warned.log
    assert "Reused from the execution cache by the build of " in page.read_text()
    assert "This page was written by the build of " in page.read_text()
    assert pages_claiming_freshness_without_the_banner(warned.html) == []
    again = build()
    assert again.returncode != 0, "a build passed over the warnings that failed the last one"

    (root / "docs" / "index.md").write_text(
        (root / "docs" / "index.md").read_text().replace("See {ref}`nowhere`.", "")
    )
    fixed = build()
    assert fixed.returncode == 0, fixed.log
    assert [p.name for p in html_pages(fixed.html) if BANNER_START in p.read_text()] == []
    assert not (fixed.html / FAILED_FILE).exists()


def test_the_banner_of_a_failed_build_comes_off_every_page(tmp_path: Path) -> None:
    """Including the pages that the next good build does not write again."""
    pages = {
        "index.html": '<html><body class="x">\n<p>Executed fresh</p></body></html>\n',
        "part/chapter.html": "<html><body><p>text</p></body></html>\n",
        "_static/asset.html": "<html><body></body></html>\n",
    }
    for name, text in pages.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    mtime = (tmp_path / "index.html").stat().st_mtime_ns
    for when in ("2026-11-25 09:41 UTC", "2026-11-25 10:02 UTC"):
        mark_failed_build(tmp_path, when, "an example failed", started=time.time() + 60)
    index = (tmp_path / "index.html").read_text()
    assert index.startswith('<html><body class="x">\n' + BANNER_START)
    assert index.count(BANNER_START) == 1 and "The build of 2026-11-25 10:02 UTC failed" in index
    assert BANNER_START in (tmp_path / "part/chapter.html").read_text()
    assert (tmp_path / "_static/asset.html").read_text() == pages["_static/asset.html"]
    assert (tmp_path / "index.html").stat().st_mtime_ns == mtime, "Sphinx compares this time"
    assert "an example failed" in (tmp_path / FAILED_FILE).read_text()
    clear_failed_build(tmp_path)
    assert {name: (tmp_path / name).read_text() for name in pages} == pages
    assert not (tmp_path / FAILED_FILE).exists()


def test_an_unusable_interpreter_fails_the_build_in_one_line(tmp_path: Path) -> None:
    build = build_book(tiny_book(tmp_path, good_example()), GILBOOK_PYTHONS="/nonexistent/python3")
    assert build.returncode != 0
    last = build.log.strip().splitlines()[-1]
    assert "GILBOOK_PYTHONS" in last and "/nonexistent/python3" in last, build.log
    assert "Traceback" not in build.log and "report this" not in build.log, build.log
