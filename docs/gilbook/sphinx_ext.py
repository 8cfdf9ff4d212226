"""The book's Sphinx extension: cached example runs that are never stale.

MyST-NB's execution cache keys a page on the text of its code cells, and Sphinx
re-reads a page only when the page changes. Neither notices an edited example
script, a new interpreter or a switch to quick mode. So, while Sphinx reads a
page, this extension

* records a dependency on every example the page runs (and on the modules of
  this package that run in the page kernels),
  so that Sphinx re-reads the page when one of them changes, and
* writes a comment with their hashes, the interpreters and the mode into the
  page's first code cell, so that the cache re-executes the page then, and only
  then.

It also labels each results table as executed in this build or reused from the
cache, and reports at the end of the build which pages executed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

from gilbook import interpreters
from gilbook.runner import EXAMPLES, quick_mode
from gilbook.tables import ORIGIN_PLACEHOLDER

logger = logging.getLogger(__name__)
PACKAGE = Path(__file__).resolve().parent
RUN_EXAMPLE = re.compile(r"""\brun_example\(\s*["']([^"']+)["']""")
# A code cell: its opening fence, its ":option: value" lines, its code, its closing fence.
CODE_CELL = re.compile(
    r"^(?P<fence>`{3,}|~{3,})\{code-cell\}[^\n]*\n(?:[ \t]*:[^\n]*\n)*"
    r"(?P<code>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
INPUTS_COMMENT = "# gilbook inputs:"
# The modules that run inside the page kernels: a change to one re-executes every page.
KERNEL_MODULES = ("interpreters.py", "plots.py", "provenance.py", "runner.py", "tables.py")
REPORT_FILE = "gilbook-build.json"
ZIP_NAME, ZIP_FOLDER = "examples.zip", "parallelism-and-the-gil-examples"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def discover_interpreters(app: Sphinx, config: Config) -> None:
    """Find the interpreters once per build and hand them to the page kernels."""
    found, skipped = interpreters.discover()
    os.environ[interpreters.RESOLVED_VARIABLE] = interpreters.export(found, skipped)
    # A config value with rebuild="env": a change here makes Sphinx re-read every page.
    config.gilbook_inputs = "; ".join(
        [f"quick={int(quick_mode())}"] + [f"{i.key}={i.path}" for i in found]
    )
    names = ", ".join(f"{i.label} (GIL {i.gil})" for i in found)
    logger.info(f"gilbook: measuring under {names}")
    for skip in skipped:
        logger.info(f"gilbook: not measuring {skip.path}: {skip.reason}")


def add_inputs_to_first_cell(app: Sphinx, docname: str, source: list[str]) -> None:
    """Make the page's cache key cover its examples, this package and the interpreters."""
    text = source[0]
    cells = list(CODE_CELL.finditer(text))
    if not cells:
        return
    code = "".join(cell["code"] for cell in cells)
    inputs = [f"gilbook/{name}={sha256(PACKAGE / name)}" for name in KERNEL_MODULES]
    for name in sorted(set(RUN_EXAMPLE.findall(code))):
        script = EXAMPLES / name
        if not script.is_file():
            raise ExtensionError(f"{docname}: run_example({name!r}): no such file {script}")
        app.env.note_dependency(str(script))
        inputs.append(f"{name}={sha256(script)}")
    for name in KERNEL_MODULES:
        app.env.note_dependency(str(PACKAGE / name))
    inputs.append(app.config.gilbook_inputs)
    comment = f"{INPUTS_COMMENT} {'; '.join(inputs)}\n"
    start = cells[0].start("code")
    source[0] = text[:start] + comment + text[start:]


def record_build_start(app: Sphinx) -> None:
    app.gilbook_build_start = time.time()  # type: ignore[attr-defined]
    app.gilbook_pages = {}  # type: ignore[attr-defined]


def label_origin(app: Sphinx, doctree: nodes.document) -> None:
    """Say in each results table whether it was executed now or taken from the cache."""
    docname = app.env.docname
    exec_data = NbMetadataCollector.get_exec_data(app.env, docname)
    if not exec_data:
        return
    executed = exec_data["mtime"] >= app.gilbook_build_start  # type: ignore[attr-defined]
    when = datetime.fromtimestamp(exec_data["mtime"], UTC).strftime("%Y-%m-%d %H:%M UTC")
    if executed:
        origin = f"Executed fresh by this build ({when})."
    else:
        origin = (
            f"Reused from the execution cache, where it was stored on {when}: since then, "
            "neither the page's code nor its examples nor the interpreters have changed."
        )
    app.gilbook_pages[docname] = {  # type: ignore[attr-defined]
        "executed": executed,
        "seconds": exec_data["runtime"],
        "succeeded": exec_data["succeeded"],
    }
    for raw in list(doctree.findall(nodes.raw)):
        text = raw.astext()
        if ORIGIN_PLACEHOLDER in text:
            raw.replace_self(
                nodes.raw("", text.replace(ORIGIN_PLACEHOLDER, origin), format=raw["format"])
            )


def caption_untitled_tables(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give every table a caption: one without a title takes its section's title.

    Such tables come from extensions, such as MyST-NB's table of execution times.
    """
    for table in doctree.findall(nodes.table):
        if table.next_node(nodes.title) is None:
            section = table.parent
            while section is not None and not isinstance(section, nodes.section):
                section = section.parent
            if section is not None:
                title = section.next_node(nodes.title).astext()
                table.insert(0, nodes.title("", title))
                table["ids"] = table["ids"] or [nodes.make_id(f"table {title}")]


def zip_examples(app: Sphinx, exception: Exception | None) -> None:
    """Offer every example, with the example contract, as one download: examples.zip."""
    if exception is not None or app.builder.format != "html":
        return
    files = [*sorted(EXAMPLES.glob("*.py")), EXAMPLES / "README.md"]
    with zipfile.ZipFile(Path(app.outdir) / ZIP_NAME, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, f"{ZIP_FOLDER}/{path.name}")


def report(app: Sphinx, exception: Exception | None) -> None:
    """Log which pages executed and write the same facts to a JSON file for tests."""
    pages: dict[str, Any] = app.gilbook_pages  # type: ignore[attr-defined]
    for docname, page in sorted(pages.items()):
        how = f"executed in {page['seconds']:.1f} s" if page["executed"] else "from cache"
        logger.info(f"gilbook: {docname}: {how}")
    executed = sum(page["executed"] for page in pages.values())
    logger.info(f"gilbook: {executed} of {len(pages)} re-read notebook pages executed")
    report_path = Path(app.doctreedir) / REPORT_FILE
    report_path.write_text(json.dumps({"pages": pages}, indent=2), encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("gilbook_inputs", "", "env", types=[str])
    app.connect("config-inited", discover_interpreters)
    app.connect("builder-inited", record_build_start)
    app.connect("source-read", add_inputs_to_first_cell)
    app.connect("doctree-read", label_origin)
    app.connect("doctree-resolved", caption_untitled_tables)
    app.connect("build-finished", zip_examples)
    app.connect("build-finished", report)
    # Pages are read one at a time: timings taken by parallel readers would be skewed.
    return {"parallel_read_safe": False, "parallel_write_safe": True}
