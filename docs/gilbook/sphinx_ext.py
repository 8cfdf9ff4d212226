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

It also labels each results table as executed fresh or reused from the cache,
naming the build by its start time (a page can outlive the build that wrote it),
reports at the end of the build which pages executed, and marks the site when a
build fails (`mark_failed_build`). Sphinx 9 ends every build that an exception
stops with a request to report a Sphinx bug; a failing example or an unusable
interpreter is no Sphinx bug, so for those the extension logs what went wrong,
the example's stderr and the command that reproduces it last, and ends the
process with status 2 itself (`fail_cleanly`).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging as pylogging
import os
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

from docutils import nodes
from myst_nb.core.execute import ExecutionError
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.application import ENV_PICKLE_FILENAME, Sphinx
from sphinx.config import Config
from sphinx.errors import SphinxError
from sphinx.util import logging
from sphinx.util._serialise import stable_str

from gilbook import interpreters
from gilbook.runner import EXAMPLES, PROGRESS_VARIABLE, quick_mode
from gilbook.tables import ORIGIN_PLACEHOLDER

logger = logging.getLogger(__name__)
# The logger of the Sphinx module that compares the configuration with the last build's.
CONFIG_LOGGER = logging.getLogger("sphinx.environment").logger
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
    "verdicts.py",
)
REPORT_FILE = "gilbook-build.json"
PROGRESS_FILE = "gilbook-progress.log"
CONFIG_FILE = "gilbook-config.json"  # the configuration of the previous build, as conf.py set it
FAILED_FILE = "gilbook-build-failed.txt"  # in the HTML folder while its pages carry the banner
BANNER_START, BANNER_END = "<!-- gilbook: failed build -->", "<!-- /gilbook: failed build -->"
BANNER = re.compile(re.escape(BANNER_START) + ".*?" + re.escape(BANNER_END) + "\n?", re.DOTALL)
BODY_TAG = re.compile(r"<body\b[^>]*>\n?")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TIME_FORMAT = "%Y-%m-%d %H:%M UTC"
ZIP_NAME, ZIP_FOLDER = "examples.zip", "parallelism-and-the-gil-examples"


class BookError(SphinxError):
    """A fault in the book's sources that its message says all about (`fail_cleanly`)."""

    category = "Book error"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def utc(timestamp: float) -> str:
    """A time as labels and banners show it: 2026-11-25 09:41 UTC."""
    return datetime.fromtimestamp(timestamp, UTC).strftime(TIME_FORMAT)


def build_time(app: Sphinx) -> str:
    """The name of this build in labels, banners and the summary: its start time."""
    return utc(app.gilbook_build_start)  # type: ignore[attr-defined]


def discover_interpreters(app: Sphinx, config: Config) -> None:
    """Find the interpreters once per build and hand them to the page kernels.

    An interpreter listed in GILBOOK_PYTHONS that does not work ends the build
    with one line that names it.
    """
    app.gilbook_build_start = time.time()  # type: ignore[attr-defined]
    try:
        found, skipped = interpreters.discover()
    except interpreters.InterpreterError as error:
        reason = f"{error}; correct it or take it out of {interpreters.PYTHONS_VARIABLE}"
        mark_failed_build(Path(app.outdir), build_time(app), reason, started=time.time())
        fail_cleanly(reason)
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
            raise BookError(f"{docname}: run_example({name!r}): no such file {script}")
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


def quiet_unchanged_configuration(app: Sphinx, config: Config) -> None:
    """Keep Sphinx's "The configuration has changed" for changes to the configuration.

    Sphinx compares the configuration that conf.py and the extensions set up
    before the build with the one it pickled with the environment after the
    last build, which the themes and extensions had amended while the builder
    started (their template and static folders, their default options): so it
    says so on every incremental build. This compares the configuration before
    the build with the same, saved by the previous build, and lets the message
    through, naming the options that differ, only when some do.
    """
    saved = Path(app.doctreedir) / CONFIG_FILE
    now = {option.name: stable_str(option.value) for option in config}
    try:
        before: dict[str, str] | None = json.loads(saved.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = None  # the first build with this extension: let Sphinx say what it says
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(now, indent=0, sort_keys=True), encoding="utf-8")
    if before is not None:
        changed = sorted(
            name for name in now.keys() | before.keys() if now.get(name) != before.get(name)
        )
        quiet = ConfigurationChanges(changed)
        CONFIG_LOGGER.addFilter(quiet)
        app.gilbook_config_filter = quiet  # type: ignore[attr-defined]


class ConfigurationChanges(pylogging.Filter):
    """Sphinx's message that the configuration has changed, only with the options that did."""

    def __init__(self, changed: list[str]) -> None:
        super().__init__()
        self.changed = changed

    def filter(self, record: pylogging.LogRecord) -> bool:
        if not str(record.msg).startswith("The configuration has changed"):
            return True
        if not self.changed:
            return False
        record.msg, record.args = "The configuration has changed (%s)", (", ".join(self.changed),)
        return True


def record_build_start(app: Sphinx) -> None:
    quiet = getattr(app, "gilbook_config_filter", None)
    if quiet is not None:  # the environment is loaded: Sphinx has compared the configurations
        CONFIG_LOGGER.removeFilter(quiet)
    app.gilbook_pages = {}  # type: ignore[attr-defined]
    app.gilbook_examples = {}  # type: ignore[attr-defined]  # page: the examples it runs
    progress = Path(app.doctreedir) / PROGRESS_FILE
    progress.parent.mkdir(parents=True, exist_ok=True)
    os.environ[PROGRESS_VARIABLE] = str(progress)
    app.gilbook_progress = ExampleProgress(progress)  # type: ignore[attr-defined]
    plain_tracebacks(Path(app.doctreedir) / "ipython")


KERNEL_CONFIG = '''\
# The configuration of the book's page kernels, written by every build (docs/gilbook/sphinx_ext.py).
import logging

# Tracebacks without colour codes, readable in a build log.
c.InteractiveShell.colors = "nocolor"


class LoopbackTransport(logging.Filter):
    """Drop the kernel's warning that it talks over TCP without encryption, which it
    prints for every page: it listens on the loopback interface only, for one page of
    one build, and every message is signed with a key only the build has."""

    def filter(self, record):
        return not record.getMessage().startswith("Kernel is running over TCP without encryption")


c.IPKernelApp.logging_config = {
    "filters": {"loopback_transport": {"()": LoopbackTransport}},
    "loggers": {"IPKernelApp": {"filters": ["loopback_transport"]}},
}
'''


def plain_tracebacks(ipython_dir: Path) -> None:
    """Configure the page kernels: plain tracebacks, and no warning they cannot act on."""
    profile = ipython_dir / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG, encoding="utf-8")
    os.environ["IPYTHONDIR"] = str(ipython_dir)


def label_origin(app: Sphinx, doctree: nodes.document) -> None:
    """Say in each results table whether it was executed now or taken from the cache."""
    docname = app.env.docname
    exec_data = NbMetadataCollector.get_exec_data(app.env, docname)
    if not exec_data:
        return
    mtime = exec_data["mtime"]
    # A page executed now finished executing during this build, before this moment.
    # A page from the cache carries the time jupyter-cache stored it, which it keeps in
    # UTC without a time zone and MyST-NB reads as local time: west of Greenwich that
    # can be later than now, so it is checked too, and read back as UTC.
    executed = app.gilbook_build_start <= mtime <= time.time()  # type: ignore[attr-defined]
    # The build is named by its time: the page may outlive it, written again by later
    # builds that reuse its doctree, or left in place when a later build fails.
    build = build_time(app)
    if executed:
        origin = f"Executed fresh by the build of {build}."
    else:
        stored = datetime.fromtimestamp(mtime).replace(tzinfo=UTC).timestamp()
        origin = (
            f"Reused from the execution cache by the build of {build}; it was stored there on "
            f"{utc(stored)}, and since then neither the page's code nor its examples nor "
            "the interpreters have changed."
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
    failure = execution_failure(app, exception)
    if failure is not None:  # the page whose execution stopped the build
        pages[failure[0]] = {"executed": True, "seconds": None, "succeeded": False}
    failed = sorted(name for name, page in pages.items() if not page["succeeded"])
    executed = {
        name: page for name, page in pages.items() if page["executed"] and page["succeeded"]
    }
    by_example: dict[str, list[tuple[str, float]]] = {}
    for script, label, seconds in progress.runs:
        by_example.setdefault(script, []).append((label, seconds))
    elapsed = time.time() - app.gilbook_build_start  # type: ignore[attr-defined]
    executing = sum(p["seconds"] or 0 for p in executed.values())
    cached = len(pages) - len(executed) - len(failed)
    runs_seconds = sum(seconds for *_, seconds in progress.runs)
    mode = "quick" if quick_mode() else "full"
    examples_of: dict[str, list[str]] = app.gilbook_examples  # type: ignore[attr-defined]

    def used_by(page: str) -> str:
        labels = [
            label for script, label, _ in progress.runs if script in examples_of.get(page, [])
        ]
        return f" under {', '.join(dict.fromkeys(labels))}" if labels else ""

    lines = [
        f"pages re-read: {len(pages)}; executed: {len(executed)} ({executing:.1f} s); "
        f"cached: {cached}" + (f"; failed: {len(failed)}" if failed else ""),
        *(
            f"  {name}: {page['seconds']:.1f} s{used_by(name)}"
            for name, page in sorted(executed.items())
        ),
        *(f"  {name}: failed; the error ends this log" for name in failed),
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
    heading = f"gilbook: summary of the build of {build_time(app)}"
    logger.info(heading + "".join(f"\n  {line}" for line in lines))
    report_path = Path(app.doctreedir) / REPORT_FILE
    facts = {"pages": pages, "runs": progress.runs, "seconds": elapsed}
    report_path.write_text(json.dumps(facts, indent=2), encoding="utf-8")


def execution_failure(app: Sphinx, exception: BaseException | None) -> tuple[str, str] | None:
    """The page whose code cells stopped the build, and what to say about it, if they did.

    MyST-NB raises ExecutionError, naming the page's file, from the kernel's error.
    For a failing example that is ExampleFailed, whose message (gilbook.runner) is
    the example's stderr and the command that reproduces it: nothing else helps.
    """
    error = exception
    while error is not None and not isinstance(error, ExecutionError):
        error = error.__cause__ or error.__context__
    if error is None:
        return None
    docname = app.env.path2doc(str(error)) or str(error)
    cause = error.__cause__
    if getattr(cause, "ename", None) == "ExampleFailed":
        message = f"the build stopped: {getattr(cause, 'evalue', '')}"
    elif cause is not None:
        message = f"the build stopped: a code cell failed.\n{cause}"
    else:
        message = "the build stopped: executing this page failed."
    return docname, ANSI_ESCAPE.sub("", message).rstrip()


def finish(app: Sphinx, exception: Exception | None) -> None:
    """Mark the site when the build failed, or remove the mark when it succeeded.

    Runs last. With ``-W --keep-going``, warnings fail the build only after this
    event, so they are counted here, and the environment is deleted so that the
    next build does not pass over them. A failing page ends the log with
    `fail_cleanly`, and so does a `BookError`; any other exception goes on to
    Sphinx, which reports it.
    """
    outdir, started = Path(app.outdir), app.gilbook_build_start  # type: ignore[attr-defined]
    warnings_fail = getattr(app, "_warncount", 0) and getattr(app, "_fail_on_warnings", False)
    if exception is None and not warnings_fail and app.statuscode == 0:
        clear_failed_build(outdir)
        return
    failure = execution_failure(app, exception)
    if exception is None:
        reason = (
            "it reported warnings, which this book treats as errors"
            if warnings_fail
            else f"it ended with status {app.statuscode}"
        )
        # As Sphinx does after an exception: the next build reads every page again, and
        # reports their warnings again, instead of passing over the pages that had them.
        (Path(app.doctreedir) / ENV_PICKLE_FILENAME).unlink(missing_ok=True)
    elif failure is not None:
        reason = f"{app.env.doc2path(failure[0])}: {failure[1]}"
    elif isinstance(exception, BookError):
        reason = str(exception)
    else:
        reason = f"{type(exception).__name__}: {exception}"
    mark_failed_build(outdir, build_time(app), reason, started)
    if failure is not None:
        fail_cleanly(failure[1], location=failure[0])
    if isinstance(exception, BookError):
        fail_cleanly(str(exception))


def fail_cleanly(message: str, location: str | None = None) -> NoReturn:
    """Log why the build failed, as its last words, and end it with status 2.

    Sphinx 9 follows every exception that ends a build, its own ConfigError
    included, with a traceback, its recent log and a request to report a Sphinx
    bug: noise after the one message that matters, when the fault is in an
    example or the environment. SystemExit passes by that handler.
    """
    logger.error(message, location=location)
    raise SystemExit(2)


def html_pages(outdir: Path) -> Iterator[Path]:
    """The HTML pages of the site in `outdir` (not those of its _static and other assets)."""
    for page in sorted(outdir.rglob("*.html")):
        if not page.relative_to(outdir).parts[0].startswith("_"):
            yield page


def rewrite_page(page: Path, change: Callable[[str], str]) -> None:
    """Change a page's HTML but not its modification time, which Sphinx compares with its source."""
    text = page.read_text(encoding="utf-8")
    changed = change(text)
    if changed != text:
        times = page.stat()
        page.write_text(changed, encoding="utf-8")
        os.utime(page, ns=(times.st_atime_ns, times.st_mtime_ns))


def add_banner(text: str, banner: str) -> str:
    """`text` with `banner` (HTML) as the first thing in its body, in place of any earlier one."""
    block = f"{BANNER_START}\n{banner}\n{BANNER_END}\n"
    return BODY_TAG.sub(lambda body: body[0] + block, BANNER.sub("", text), count=1)


def mark_failed_build(outdir: Path, when: str, reason: str, started: float) -> None:
    """Say on every page in `outdir`, at its top, that the build of `when` failed.

    A reader opens the site in _build/html whether or not the last build
    succeeded. Deleting it would throw away every page an earlier build measured
    and leave nothing to read; leaving it as it is would let its pages pass for
    the result of the last build. So the pages stay, and each says that the
    build failed: a page that build did not write is from an earlier one (its
    tables name the build that executed them), and a page it did write may be
    incomplete. The file FAILED_FILE says the same. The next build that
    succeeds removes both (`clear_failed_build`), from the pages it does not
    write again too.
    """
    if not outdir.is_dir():
        return
    pages = list(html_pages(outdir))
    if not pages:
        return  # no site to mislead anyone
    for page in pages:
        if page.stat().st_mtime >= started:
            text = (
                f"This page was written by the build of {when}, which failed: it may be incomplete."
            )
        else:
            text = (
                f"The build of {when} failed. This page is from an earlier build: it may not "
                "show what the book's chapters and examples say now."
            )
        text += " The build's log says what went wrong."
        banner = (
            '<aside class="gilbook-failed-build" aria-label="Failed build">'
            f"<p>{html.escape(text, quote=False)}</p></aside>"
        )
        rewrite_page(page, partial(add_banner, banner=banner))
    (outdir / FAILED_FILE).write_text(
        f"The build of {when} failed. A banner at the top of every page in this folder\n"
        "says so; the next build that succeeds removes the banners and this file.\n\n"
        f"{reason}\n",
        encoding="utf-8",
    )
    logger.info(
        f"gilbook: the build failed; a banner on each of the {len(pages)} pages in {outdir} says so"
    )


def clear_failed_build(outdir: Path) -> None:
    """Remove the banners and the file that a failed build left (`mark_failed_build`)."""
    if not (outdir / FAILED_FILE).is_file():
        return  # no failed build left a mark: no page to read
    for page in html_pages(outdir):
        rewrite_page(page, lambda text: BANNER.sub("", text))
    (outdir / FAILED_FILE).unlink(missing_ok=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("gilbook_inputs", "", "env", types=[str])
    app.connect("config-inited", discover_interpreters)
    # After every other handler: the configuration as this build starts with it.
    app.connect("config-inited", quiet_unchanged_configuration, priority=900)
    app.connect("builder-inited", record_build_start)
    app.connect("source-read", add_inputs_to_first_cell)
    app.connect("doctree-read", label_origin)
    app.connect("doctree-resolved", caption_untitled_tables)
    app.connect("build-finished", zip_examples)
    app.connect("build-finished", report)
    app.connect("build-finished", finish, priority=900)  # last: it may end the process
    # Pages are read one at a time: timings taken by parallel readers would be skewed.
    return {"parallel_read_safe": False, "parallel_write_safe": True}
