"""The built book in a real browser: Debian's Chromium, driven by Playwright.

These tests skip, saying why, only where Chromium is not installed; `.ci/run`
installs it, so CI always runs them. Screenshots of every page, at desktop and
phone widths in light and dark mode, land in _build/screenshots/.
"""

from __future__ import annotations

import ast
import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Request, ViewportSize, sync_playwright

from helpers import ROOT, Build

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Each test skips on its own, so the report counts every one that did not run.
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason="Chromium is not installed (on Debian: apt-get install chromium)",
)

# Quiet, offline, and allowed to run as root in a container.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "_build" / "screenshots"
VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output free of one line per request."""


@pytest.fixture(scope="module")
def site(book: Build) -> Iterator[str]:
    """The quick-built book, served over HTTP on a free local port."""
    handler = functools.partial(QuietHandler, directory=str(book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def pages(book: Build) -> list[str]:
    return sorted(page.name for page in book.html.glob("*.html"))


def problems_loading(browser: Browser, site: str, name: str) -> list[str]:
    """Console errors, failed requests and requests to other hosts while `name` loads."""
    problems: list[str] = []
    context = browser.new_context()
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
    )
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith((site, "data:", "blob:"))
            else problems.append(f"other host: {r.url}")
        ),
    )
    page.goto(f"{site}/{name}", wait_until="networkidle")
    context.close()
    return [f"{name}: {problem}" for problem in problems]


def test_every_page_loads_cleanly_and_stays_on_this_host(
    book: Build, site: str, browser: Browser
) -> None:
    problems = [p for name in pages(book) for p in problems_loading(browser, site, name)]
    assert not problems, "\n".join(problems)


def test_screenshots_at_desktop_and_phone_widths_in_light_and_dark(
    book: Build, site: str, browser: Browser
) -> None:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    for scheme in ("light", "dark"):
        for device, viewport in VIEWPORTS.items():
            context = browser.new_context(viewport=viewport, color_scheme=scheme)
            page = context.new_page()
            for name in pages(book):
                page.goto(f"{site}/{name}", wait_until="networkidle")
                assert page.evaluate("document.documentElement.dataset.theme") == scheme
                page.screenshot(path=SCREENSHOTS / f"{Path(name).stem}-{device}-{scheme}.png",
                                full_page=True)  # fmt: skip
            context.close()
    assert len(list(SCREENSHOTS.glob("*.png"))) == 4 * len(pages(book))


def function_source(script: Path, name: str) -> str:
    """The exact text of one top-level function of `script`."""
    text = script.read_text(encoding="utf-8")
    node = next(
        n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name
    )
    return "\n".join(text.splitlines()[node.lineno - 1 : node.end_lineno])


def test_copy_button_copies_exactly_the_code_of_the_file(site: str, browser: Browser) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{site}/cpu-bound-threads-vs-processes.html", wait_until="networkidle")
    block = page.locator("div.highlight-python").first
    block.hover()
    block.locator("button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    script = ROOT / "examples" / "cpu_threads_vs_processes.py"
    assert copied.strip() == function_source(script, "count_down").strip()
    context.close()


def test_download_links_serve_exactly_the_example_files(
    book: Build, site: str, browser: Browser
) -> None:
    context = browser.new_context()
    page = context.new_page()
    checked = 0
    for name in pages(book):
        page.goto(f"{site}/{name}")
        for link in page.locator("a.download").all():
            href = link.get_attribute("href") or ""
            served = page.request.get(f"{site}/{href}").body()
            assert served == (ROOT / "examples" / Path(href).name).read_bytes(), href
            checked += 1
    assert checked >= len(list((ROOT / "examples").glob("*.py")))
    context.close()


def test_search_finds_a_chapter_by_a_word_from_its_text(site: str, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site}/search.html?q=meringue", wait_until="networkidle")
    results = page.locator("ul.search li a")
    results.first.wait_for(timeout=15_000)
    hrefs = [a.get_attribute("href") or "" for a in results.all()]
    assert any("concurrency-and-parallelism" in href for href in hrefs), hrefs
    context.close()


AXE = ROOT / "_build" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def test_no_serious_or_critical_accessibility_violations(
    book: Build, site: str, browser: Browser
) -> None:
    if not AXE.is_file():
        pytest.skip(f"axe-core is missing: npm install --prefix {AXE.parents[2]} axe-core@4")
    problems = []
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        for name in pages(book):
            page.goto(f"{site}/{name}", wait_until="networkidle")
            page.add_script_tag(path=AXE)
            found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            problems += [
                f"{name} ({scheme}): {v['id']} ({v['impact']}): {v['help']}: "
                + ", ".join(str(node["target"]) for node in v["nodes"][:3])
                for v in found["violations"]
                if v["impact"] in {"serious", "critical"}
            ]
        context.close()
    assert not problems, "\n".join(problems)


def bytes_loaded(browser: Browser, site: str, name: str) -> dict[str, int]:
    """Every URL that loading `name` fetched, with the size of its body."""
    sizes: dict[str, int] = {}
    context = browser.new_context()
    page = context.new_page()

    def record(request: Request) -> None:
        sizes[request.url] = request.sizes()["responseBodySize"]

    page.on("requestfinished", record)
    page.goto(f"{site}/{name}", wait_until="networkidle")
    context.close()
    return sizes


def test_page_weight_is_only_theme_assets_content_and_plots(
    book: Build, site: str, browser: Browser
) -> None:
    """Writes the bytes each page loads to _build/page-weight.json."""
    weights = {}
    for name in pages(book):
        sizes = bytes_loaded(browser, site, name)
        own = (f"{site}/{name}", f"{site}/_static/", f"{site}/_images/", f"{site}/searchindex.js")
        assert all(url.startswith(own) for url in sizes), [
            u for u in sizes if not u.startswith(own)
        ]
        weights[name] = {"bytes": sum(sizes.values()), "requests": len(sizes)}
    report = ROOT / "_build" / "page-weight.json"
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps(weights, indent=2), encoding="utf-8")
    assert all(weight["bytes"] > 0 for weight in weights.values())
