"""The built book: strict build, tables that equal the examples' JSON, safe and offline HTML."""

from __future__ import annotations

import itertools
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, Tag

from gilbook.interpreters import Interpreter, select
from gilbook.runner import ExampleRuns, Run, efficiency, paired_median, paired_ratios
from gilbook.tables import ORIGIN_PLACEHOLDER, ratio, timings_table
from helpers import EXAMPLES, INTERPRETERS, Build


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def text_of(tag: Tag, selector: str) -> str:
    """The text of the first element under `tag` that `selector` matches, which must exist."""
    found = tag.select_one(selector)
    assert found is not None, selector
    return found.get_text()


def attribute(tag: Tag, name: str) -> str:
    return str(tag.get(name, ""))


UNITS = {"": 1.0, "×": 1.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6}


def rounds_to(shown: str, value: float) -> bool:
    """Whether `shown` ("12.3 ms", "1.98×", "4,000") is `value` rounded as displayed."""
    found = re.fullmatch(r"([\d,]+(?:\.(\d+))?)\s*(×|s|ms|µs)?", shown.strip())
    assert found, f"not a displayed number: {shown!r}"
    number, decimals, unit = found.groups()
    scale = UNITS[unit or ""]
    tolerance = 0.5 * 10 ** -len(decimals or "") * scale
    return bool(abs(float(number.replace(",", "")) * scale - value) <= tolerance + 1e-12)


def results_blocks(book: Build) -> dict[str, list[Tag]]:
    """Every results table in the book, by page."""
    found: dict[str, list[Tag]] = {}
    for page in book.html.glob("*.html"):
        blocks = list(soup(page).select("div.gilbook-results"))
        if blocks:
            found[page.stem] = blocks
    return found


def test_every_example_yields_a_table(book: Build) -> None:
    captions = [
        b.caption.get_text() for bs in results_blocks(book).values() for b in bs if b.caption
    ]
    for script in EXAMPLES:
        assert any(caption.startswith(script.name) for caption in captions), script.name


def resolve(document: Any, pointer: str) -> Any:
    """The value at `pointer` ("timings/3/median") in a JSON document."""
    for part in pointer.split("/"):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def matches(shown: str, value: Any) -> bool:
    """Whether a table shows `value` as `shown`, allowing only rounding and a unit."""
    if value is None:
        return shown == "n/a"
    if isinstance(value, bool):
        return shown == ("yes" if value else "no")
    if isinstance(value, int | float):
        return rounds_to(shown, float(value))
    return bool(shown == str(value))


def test_table_numbers_equal_the_json_of_this_build(book: Build) -> None:
    blocks = [block for page in results_blocks(book).values() for block in page]
    assert blocks
    for block in blocks:
        raw = {
            attribute(pre, "data-interpreter"): json.loads(pre.get_text())
            for pre in block.select("pre.gilbook-raw")
        }
        # A column for each interpreter the page selected: by default those of `select`,
        # at most every interpreter found (interpreters="all").
        keys = set(raw)
        assert {i.key for i in select(INTERPRETERS)} <= keys <= {i.key for i in INTERPRETERS}
        cells = block.select("td[data-interpreter]")
        assert cells and all(cell.select("[data-json]") for cell in cells), "values come from JSON"
        for cell in cells:
            data = raw[attribute(cell, "data-interpreter")]
            pointers = {attribute(value, "data-json") for value in cell.select("[data-json]")}
            for value in cell.select("[data-json]"):
                pointer = attribute(value, "data-json")
                assert matches(value.get_text(), resolve(data, pointer)), (pointer, value)
                if pointer.endswith("/median"):
                    spread = {pointer.replace("median", end) for end in ("min", "max")}
                    assert spread <= pointers, f"{pointer} is shown without its spread"
            for speedup in cell.select("[data-ratio]"):
                top, bottom = (resolve(data, p) for p in attribute(speedup, "data-ratio").split())
                quotient = paired_median(top, bottom) if isinstance(top, list) else top / bottom
                assert speedup.get_text() == ratio(quotient), speedup
            for shown_efficiency in cell.select("[data-efficiency]"):
                inputs = [
                    resolve(data, p) for p in attribute(shown_efficiency, "data-efficiency").split()
                ]
                if len(inputs) == 3:  # the example's own best speedup of each round
                    baseline, variant, ideal = inputs
                    share = paired_median(paired_ratios(baseline, variant), ideal)
                else:
                    share = efficiency(*inputs)
                assert shown_efficiency.get_text() == f"{share:.2f}", shown_efficiency


def test_tables_state_their_provenance(book: Build) -> None:
    for block in (b for page in results_blocks(book).values() for b in page):
        caption = text_of(block, "caption")
        for pre in block.select("pre.gilbook-raw"):
            provenance: dict[str, Any] = json.loads(pre.get_text())["provenance"]
            for field in ("cpu_model", "version", "timestamp_utc", "os"):
                assert provenance[field] in caption, field
            assert f"{provenance['logical_cores']} logical cores" in caption
        assert re.search(r"GIL (on|off)", caption)
        for interpreter in select(INTERPRETERS):
            assert (
                f"{interpreter.label} (GIL {interpreter.gil}): {interpreter.build_flags}" in caption
            )
        if block.select("[data-json$='/median']"):
            assert "median" in caption
        assert "Executed fresh by the build of" in caption
        assert ORIGIN_PLACEHOLDER not in caption


def test_every_ratio_in_the_prose_is_in_the_table(book: Build) -> None:
    for page, blocks in results_blocks(book).items():
        in_tables = {
            shown.get_text()
            for b in blocks
            for shown in b.select("[data-ratio], [data-json]")
            if shown.get_text().endswith("×")
        }
        if not in_tables:
            continue
        main = soup(book.html / f"{page}.html").select_one("main")
        assert main is not None
        for block in main.select("div.gilbook-results, figure.gilbook-figure"):
            block.decompose()
        ratios = re.findall(r"\d[\d,]*(?:\.\d+)?×", main.get_text())
        assert ratios, f"{page} quotes no ratio in its prose"
        assert set(ratios) <= in_tables, page


def test_figures_have_alt_text_and_a_caption(book: Build) -> None:
    for page in book.html.glob("*.html"):
        for figure in soup(page).select("figure.gilbook-figure"):
            svg = figure.select_one("svg")
            assert svg is not None and attribute(svg, "role") == "img"
            assert len(attribute(svg, "aria-label")) > 40
            assert text_of(figure, "figcaption").strip()


def test_about_page_lists_every_interpreter(book: Build) -> None:
    text = soup(book.html / "about-these-numbers.html").get_text()
    for interpreter in INTERPRETERS:
        assert interpreter.path in text
    assert "Execution times of this build" in text


def test_nothing_is_loaded_from_another_host(book: Build) -> None:
    remote = re.compile(r"^(https?:)?//")
    for page in book.html.rglob("*.html"):
        html = soup(page)
        for element in html.find_all(src=True):
            assert not remote.match(attribute(element, "src")), (page.name, element)
        for link in html.find_all("link", href=True):
            if {"stylesheet", "preload", "icon"} & set(link.get_attribute_list("rel")):
                assert not remote.match(attribute(link, "href")), (page.name, link)


def test_results_contain_no_markup_from_examples(book: Build) -> None:
    for block in (b for page in results_blocks(book).values() for b in page):
        assert not block.find(["script", "iframe", "object", "embed", "style"])


def fake_runs(text: str) -> ExampleRuns:
    """An example whose every string field is `text`."""
    machine = {key: text for key in ("cpu_model", "logical_cores", "usable_cores", "os")}
    interpreter = Interpreter(text, text, text, text, False, True, text, machine, text)
    timing = {
        "variant": text,
        "label": text,
        "workers": 1,
        "seconds": [1.0],
        "median": 1.0,
        "min": 1.0,
        "max": 1.0,
    }
    machine["start_method"] = text
    document = {
        "example": text,
        "claim": text,
        "gil_enabled": True,
        "parameters": {"repeats": 1, "quick": False, "work": text},
        "baseline": text,
        "timings": [timing],
    }
    return ExampleRuns(Path(text), [Run(interpreter, json.dumps(document), text)])


def test_example_output_cannot_inject_markup() -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'
    html = BeautifulSoup(timings_table(fake_runs(attack)), "html.parser")
    assert not html.find(["script", "img"])
    assert attack in html.get_text()
    assert all(not name.startswith("on") for tag in html.find_all(True) for name in tag.attrs)


def test_missing_free_threading_is_explained() -> None:
    html = BeautifulSoup(timings_table(fake_runs("x")), "html.parser")
    note = html.select_one(".gilbook-missing")
    assert note is not None and "No free-threaded interpreter" in note.get_text()
    assert "GILBOOK_PYTHONS" in note.get_text()


def runs_of(book: Build, script: str) -> dict[str, Any]:
    """The raw JSON of every run of `script` in this build, by interpreter key."""
    for blocks in results_blocks(book).values():
        for block in blocks:
            if text_of(block, "caption").startswith(script):
                return {
                    attribute(pre, "data-interpreter"): json.loads(pre.get_text())
                    for pre in block.select("pre.gilbook-raw")
                }
    raise AssertionError(f"no table for {script}")


def test_the_race_loses_updates_without_a_lock_and_none_with_it(book: Build) -> None:
    runs = runs_of(book, "race_adding_one.py")

    def lost(data: dict[str, Any], variant: str) -> int:
        return int(next(t for t in data["timings"] if t["variant"] == variant)["lost_max"])

    assert all(lost(data, "locked") == 0 for data in runs.values())
    free = [data for data in runs.values() if data["provenance"]["free_threaded_build"]]
    if free:
        assert any(lost(data, "unsafe") > 0 for data in free), "no lost update without the GIL"
    assert any(lost(data, "unsafe") + lost(data, "call") > 0 for data in runs.values())


def test_tables_have_header_cells_and_captions_and_headings_are_in_order(book: Build) -> None:
    for page in book.html.glob("*.html"):
        article = soup(page).select_one("article")
        if article is None:
            continue
        for table in article.find_all("table"):
            assert table.find("caption") and table.find("th"), (page.name, str(table)[:200])
        levels = [int(h.name[1]) for h in article.find_all(["h1", "h2", "h3", "h4", "h5", "h6"])]
        assert levels[:1] == [1], page.name
        assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), page.name


def test_examples_zip_holds_exactly_the_examples(book: Build) -> None:
    index = soup(book.html / "index.html").select_one("a.gilbook-zip")
    assert index is not None
    with zipfile.ZipFile(book.html / attribute(index, "href")) as archive:
        members = {Path(name).name: archive.read(name) for name in archive.namelist()}
    expected = [*EXAMPLES, EXAMPLES[0].parent / "README.md"]
    assert members == {path.name: path.read_bytes() for path in expected}


def test_free_threading_is_compared_with_its_twin_or_labelled(book: Build) -> None:
    measured = select(INTERPRETERS)
    free = next((i for i in measured if i.free_threaded), None)
    if free is None:
        return
    chapter = soup(book.html / "cpu-bound-threads-vs-processes.html").get_text()
    has_twin = any(i.key == free.twin for i in measured)
    assert ("cross-version comparison" in chapter) is not has_twin
    assert ("found no default build of CPython" in chapter) is not has_twin
