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
import threading
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError, ExtensionError
from sphinx.util import logging

from gilbook import interpreters
from gilbook.runner import EXAMPLES, PROGRESS_VARIABLE, quick_mode
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
KERNEL_MODULES = (
    "environments.py",
    "interpreters.py",
    "plots.py",
    "provenance.py",
    "runner.py",
    "tables.py",
)
REPORT_FILE = "gilbook-build.json"
PROGRESS_FILE = "gilbook-progress.log"
ZIP_NAME, ZIP_FOLDER = "examples.zip", "parallelism-and-the-gil-examples"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def discover_interpreters(app: Sphinx, config: Config) -> None:
    """Find the interpreters once per build and hand them to the page kernels."""
    try:
        found, skipped = interpreters.discover()
    except interpreters.InterpreterError as error:
        raise ConfigError(str(error)) from None
    os.environ[interpreters.RESOLVED_VARIABLE] = interpreters.export(found, skipped)
    # A config value with rebuild="env": a change here makes Sphinx re-read every page.
    config.gilbook_inputs = "; ".join(
        [f"quick={int(quick_mode())}"] + [f"{i.key}={i.path}" for i in found]
    )
    names = ", ".join(f"{i.label} (GIL {i.gil})" for i in found)
    logger.info(f"gilbook: found {names}")
    for skip in skipped:
        logger.info(f"gilbook: not measuring {skip.path}: {skip.reason}")


def add_inputs_to_first_cell(app: Sphinx, docname: str, source: list[str]) -> None:
    """Make the page's cache key cover its examples, this package and the interpreters."""
    text = source[0]
    cells = list(CODE_CELL.finditer(text))
    if not cells:
        return
    code = "".join(cell["code"] for cell in cells)
    app.gilbook_examples[docname] = []  # type: ignore[attr-defined]
    inputs = [f"gilbook/{name}={sha256(PACKAGE / name)}" for name in KERNEL_MODULES]
    for name in sorted(set(RUN_EXAMPLE.findall(code))):
        script = EXAMPLES / name
        if not script.is_file():
            raise ExtensionError(f"{docname}: run_example({name!r}): no such file {script}")
        app.env.note_dependency(str(script))
        inputs.append(f"{name}={sha256(script)}")
        app.gilbook_examples[docname].append(name)  # type: ignore[attr-defined]
    for name in KERNEL_MODULES:
        app.env.note_dependency(str(PACKAGE / name))
    inputs.append(app.config.gilbook_inputs)
    comment = f"{INPUTS_COMMENT} {'; '.join(inputs)}\n"
    start = cells[0].start("code")
    source[0] = text[:start] + comment + text[start:]


class ExampleProgress:
    """Follows the progress file that page kernels append to (gilbook.runner), and logs it.

    The kernels run the examples while Sphinx waits for a page, so a thread shows
    each run as it starts and ends; `runs` keeps every finished run for the summary.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.write_text("", encoding="utf-8")
        self.runs: list[tuple[str, str, float]] = []
        self._offset = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stopped.wait(0.25):
            self.read()

    def read(self) -> None:
        """Log every complete line added since the last read."""
        with self._lock, self.path.open(encoding="utf-8") as log:
            log.seek(self._offset)
            lines = log.read().splitlines(keepends=True)
            complete = [line for line in lines if line.endswith("\n")]
            self._offset += sum(len(line.encode()) for line in complete)
            for line in complete:
                event, script, label, *rest = line.rstrip("\n").split("\t")
                if event == "start":
                    logger.info(f"gilbook: running {script} under {label}")
                elif event == "unavailable":
                    logger.info(f"gilbook: not running {script} under {label}: {rest[0]}")
                else:
                    self.runs.append((script, label, float(rest[0])))
                    logger.info(f"gilbook: {script} under {label} took {rest[0]} s")

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self.read()


def record_build_start(app: Sphinx) -> None:
    app.gilbook_build_start = time.time()  # type: ignore[attr-defined]
    app.gilbook_pages = {}  # type: ignore[attr-defined]
    app.gilbook_examples = {}  # type: ignore[attr-defined]  # page: the examples it runs
    progress = Path(app.doctreedir) / PROGRESS_FILE
    progress.parent.mkdir(parents=True, exist_ok=True)
    os.environ[PROGRESS_VARIABLE] = str(progress)
    app.gilbook_progress = ExampleProgress(progress)  # type: ignore[attr-defined]
    plain_tracebacks(Path(app.doctreedir) / "ipython")


def plain_tracebacks(ipython_dir: Path) -> None:
    """Make page kernels print tracebacks without colour codes, readable in a build log."""
    profile = ipython_dir / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    config = 'c.InteractiveShell.colors = "nocolor"\n'
    (profile / "ipython_kernel_config.py").write_text(config, encoding="utf-8")
    os.environ["IPYTHONDIR"] = str(ipython_dir)


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
            heading = section.next_node(nodes.title) if section is not None else None
            if heading is not None:
                title = heading.astext()
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
    """End the build with a one-screen summary, and write its facts to a JSON file."""
    progress: ExampleProgress = app.gilbook_progress  # type: ignore[attr-defined]
    progress.stop()
    pages: dict[str, Any] = app.gilbook_pages  # type: ignore[attr-defined]
    executed = {name: page for name, page in pages.items() if page["executed"]}
    by_example: dict[str, list[tuple[str, float]]] = {}
    for script, label, seconds in progress.runs:
        by_example.setdefault(script, []).append((label, seconds))
    elapsed = time.time() - app.gilbook_build_start  # type: ignore[attr-defined]
    executing = sum(p["seconds"] or 0 for p in executed.values())
    cached = len(pages) - len(executed)
    runs_seconds = sum(seconds for *_, seconds in progress.runs)
    mode = "quick" if quick_mode() else "full"
    examples_of: dict[str, list[str]] = app.gilbook_examples  # type: ignore[attr-defined]

    def used_by(page: str) -> str:
        labels = [
            label for script, label, _ in progress.runs if script in examples_of.get(page, [])
        ]
        return f" under {', '.join(dict.fromkeys(labels))}" if labels else ""

    lines = [
        f"pages re-read: {len(pages)}; executed: {len(executed)} ({executing:.1f} s); cached: {cached}",
        *(
            f"  {name}: {page['seconds']:.1f} s{used_by(name)}"
            for name, page in sorted(executed.items())
        ),
        "interpreters found: "
        + ", ".join(f"{i.label} (GIL {i.gil})" for i in interpreters.resolved()[0]),
        f"example runs: {len(progress.runs)} ({mode} mode), {runs_seconds:.1f} s in all",
        *(
            f"  {script}: {sum(s for _, s in runs):.1f} s ("
            + ", ".join(f"{label} {s:.1f} s" for label, s in runs)
            + ")"
            for script, runs in sorted(by_example.items())
        ),
        f"whole build: {elapsed:.1f} s",
    ]
    logger.info("gilbook: summary\n" + "\n".join(f"  {line}" for line in lines))
    report_path = Path(app.doctreedir) / REPORT_FILE
    facts = {"pages": pages, "runs": progress.runs, "seconds": elapsed}
    report_path.write_text(json.dumps(facts, indent=2), encoding="utf-8")


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
