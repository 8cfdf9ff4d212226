"""Turn the JSON that examples printed into HTML tables for the book's pages.

Every string that came from an example is escaped, so an example that prints
``<script>`` shows as text. Numbers are shown as measured, rounded for display
only; the raw JSON is attached under each table for anyone who wants to check.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from html import escape

from gilbook.interpreters import Interpreter, Skipped
from gilbook.provenance import provenance
from gilbook.runner import ExampleRuns, Run

# Replaced while Sphinx reads the page by "executed in this build" or "reused
# from the execution cache" (see gilbook.sphinx_ext.label_origin).
ORIGIN_PLACEHOLDER = "GILBOOK-ORIGIN"
FREE_THREADING_HOWTO = "https://docs.python.org/3/howto/free-threading-python.html"


def seconds(value: float) -> str:
    """A duration to three significant figures, never in exponent form: 0.205, 1.43, 12.0."""
    if value <= 0:
        return "0"
    decimals = max(0, 2 - math.floor(math.log10(value)))
    return f"{value:.{decimals}f}"


def ratio(value: float) -> str:
    return f"{value:.2f}×"


def gil_state(run: Run) -> str:
    return "GIL on" if run.data["provenance"]["gil_enabled"] else "GIL off"


def column_heading(run: Run) -> str:
    return f"{run.interpreter.label} ({gil_state(run)})"


def timings_table(example: ExampleRuns) -> str:
    """One row per variant, one column per interpreter: speedup, median and spread."""
    runs = example.runs
    first = runs[0].data
    variants = [(t["variant"], t["label"]) for t in first["timings"]]
    repeats = first["parameters"]["repeats"]
    baseline = first["baseline"]

    head = "".join(f'<th scope="col">{escape(column_heading(r))}</th>' for r in runs)
    body = []
    for variant, label in variants:
        cells = [f'<th scope="row">{escape(label)}</th>']
        for run in runs:
            row = run.timing(variant)
            cells.append(
                f'<td data-variant="{escape(variant)}" '
                f'data-interpreter="{escape(run.interpreter.key)}">'
                f'<span class="gilbook-speedup">{ratio(run.speedup(variant))}</span> '
                f'<span class="gilbook-median">{seconds(row["median"])} s</span> '
                f'<span class="gilbook-spread">{seconds(row["min"])} to {seconds(row["max"])}</span>'
                "</td>"
            )
        body.append(f"<tr>{''.join(cells)}</tr>")

    caption = (
        f'<span class="gilbook-title"><code>{escape(example.name)}</code>: speedup over '
        f"{escape(baseline)} (its median time divided by the variant's), then the median "
        f"time of {repeats} runs and, below it, the fastest to the slowest run.</span>"
        f"{provenance_lines(runs)}"
        f'<span class="gilbook-origin">{ORIGIN_PLACEHOLDER}</span>'
    )
    return (
        '<div class="gilbook-results">'
        f'<table class="gilbook-table"><caption>{caption}</caption>'
        f'<thead><tr><th scope="col">variant</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
        f"{core_limit_note(runs)}{missing_free_threading_note(example)}{raw_json(runs)}"
        "</div>"
    )


def provenance_lines(runs: list[Run]) -> str:
    """Where and when each column was measured, one escaped line each."""
    machines = distinct(
        f"{p['cpu_model']}, {p['logical_cores']} logical cores ({p['usable_cores']} usable), "
        f"{p['os']}"
        for p in (r.data["provenance"] for r in runs)
    )
    lines = [f"Machine: {' / '.join(machines)}."]
    mode = "quick mode" if any(r.data["parameters"].get("quick") for r in runs) else "full run"
    lines += [
        f"{column_heading(r)}: {job_parameters(r)}{r.data['provenance']['start_method']} start "
        f"method, {mode}, measured {r.data['provenance']['timestamp_utc']}."
        for r in runs
    ]
    return "".join(f'<span class="gilbook-provenance">{escape(line)}</span>' for line in lines)


def job_parameters(run: Run) -> str:
    """The example's own parameters, such as the size of its job ("work=8,100,000, ")."""
    shown = {k: v for k, v in run.data["parameters"].items() if k not in {"quick", "repeats"}}
    return "".join(
        f"{key}={value:,}, " if isinstance(value, int) else f"{key}={value}, "
        for key, value in shown.items()
    )


def core_limit_note(runs: list[Run]) -> str:
    cores = distinct(str(r.data["provenance"]["usable_cores"]) for r in runs)
    return (
        f'<p class="gilbook-note">This machine had {escape(" or ".join(cores))} usable cores, '
        "so that many times faster is the most that parallel work can gain here; "
        "workers beyond that number only take turns.</p>"
    )


def missing_free_threading_note(example: ExampleRuns) -> str:
    if example.by(free_threaded=True) is not None:
        return ""
    return (
        '<p class="gilbook-note gilbook-missing">No free-threaded interpreter was available '
        "to this build, so nothing here was measured with the GIL disabled. Install a "
        "free-threaded CPython (3.13t or later, see the "
        f'<a href="{FREE_THREADING_HOWTO}">free-threading how-to</a>) and rebuild with '
        "<code>GILBOOK_PYTHONS=/path/to/python3.13t</code>, or put <code>python3.13t</code> "
        "on your <code>PATH</code>.</p>"
    )


def raw_json(runs: Iterable[Run]) -> str:
    """The example's own output, verbatim and escaped, one block per interpreter."""
    blocks = "".join(
        f"<p>{escape(run.interpreter.label)} ({escape(run.interpreter.path)}):</p>"
        f'<pre class="gilbook-raw" data-interpreter="{escape(run.interpreter.key)}">'
        f"{escape(run.stdout.strip())}</pre>"
        for run in runs
    )
    return f'<details class="gilbook-raw-json"><summary>Raw JSON of these runs</summary>{blocks}</details>'


def distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def interpreters_table(found: list[Interpreter], skipped: list[Skipped]) -> HTML:
    """The interpreters this build measured under, and the candidates it skipped."""
    rows = "".join(
        f'<tr><th scope="row">{escape(i.label)}</th><td>{escape(i.gil)}</td>'
        f"<td><code>{escape(i.path)}</code></td><td>{escape(i.found_by)}</td></tr>"
        for i in found
    )
    table = (
        '<table class="gilbook-table gilbook-text-table"><caption>Interpreters measured by '
        "this build, in the order of the columns of every results table.</caption>"
        '<thead><tr><th scope="col">interpreter</th><th scope="col">GIL</th>'
        '<th scope="col">path</th><th scope="col">found by</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    if not any(i.free_threaded for i in found):
        table += (
            '<p class="gilbook-note gilbook-missing">No free-threaded interpreter was found, '
            "so this build could not measure Python without the GIL.</p>"
        )
    if skipped:
        items = "".join(
            f"<li><code>{escape(s.path)}</code>: {escape(s.reason)}</li>" for s in skipped
        )
        table += f"<p>Candidates not measured:</p><ul>{items}</ul>"
    return HTML(table)


def machine_table() -> HTML:
    """The machine that runs the build, as the examples' provenance block sees it."""
    here = provenance()
    rows = [
        ("CPU", here["cpu_model"]),
        ("logical cores", here["logical_cores"]),
        ("cores this build may use", here["usable_cores"]),
        ("operating system", here["os"]),
        ("multiprocessing start method", here["start_method"]),
        ("described at", here["timestamp_utc"]),
    ]
    body = "".join(
        f'<tr><th scope="row">{escape(name)}</th><td>{escape(str(value))}</td></tr>'
        for name, value in rows
    )
    return HTML(
        '<table class="gilbook-table gilbook-text-table"><caption>The machine that built '
        f"this book.</caption><tbody>{body}</tbody></table>"
    )


class HTML(str):
    """A string of HTML that Jupyter displays as HTML."""

    def _repr_html_(self) -> str:
        return str(self)
