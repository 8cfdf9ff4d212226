"""Turn the JSON that examples printed into HTML tables for the book's pages.

Every string that came from an example is escaped, so an example that prints
``<script>`` shows as text. Numbers are shown as measured, rounded for display
only; the raw JSON is attached under each table for anyone who wants to check.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from functools import partial
from html import escape

from gilbook.interpreters import Interpreter, Skipped, select
from gilbook.runner import ExampleRuns, Run

# Replaced while Sphinx reads the page by "executed in this build" or "reused
# from the execution cache" (see gilbook.sphinx_ext.label_origin).
ORIGIN_PLACEHOLDER = "GILBOOK-ORIGIN"
FREE_THREADING_HOWTO = "https://docs.python.org/3/howto/free-threading-python.html"
CAPACITY_ROW = "capacity"  # the row of a timings table that shows the measured capacity


class HTML(str):
    """A string of HTML that Jupyter displays as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


def significant(value: float) -> str:
    """A number to three significant figures, never in exponent form: 0.205, 1.43, 12.0."""
    if value <= 0:
        return "0"
    decimals = max(0, 2 - math.floor(math.log10(value)))
    return f"{value:.{decimals}f}"


def duration(value: float) -> str:
    """Seconds in the unit that reads best: 1.43 s, 12.0 ms, 91.1 µs."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3)):
        if value >= scale:
            return f"{significant(value / scale)} {unit}"
    return f"{significant(value / 1e-6)} µs"


def ratio(value: float) -> str:
    """A ratio to three significant figures, the most that run-to-run noise leaves
    meaningful: 0.987×, 1.98×, 12.3×, 1130×."""
    return f"{significant(value)}×"


def data_size(value: float) -> str:
    """Bytes in the binary unit that reads best: 512 bytes, 16 KiB, 1.31 MiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            number = value / scale
            shown = f"{number:g}" if number == int(number) else significant(number)
            return f"{shown} {unit}"
    return f"{value:g} bytes"


def gil_state(run: Run) -> str:
    return "GIL on" if run.data["provenance"]["gil_enabled"] else "GIL off"


def column_heading(run: Run) -> str:
    return f"{run.interpreter.label} ({gil_state(run)})"


def shown(pointer: str, text: str, css: str) -> str:
    """A number or fact from an example's JSON, tagged with where it came from.

    `pointer` is its path in the run's JSON ("timings/3/median"), so that the tests
    (and a curious reader) can check every displayed value against the raw data.
    """
    return f'<span class="{css}" data-json="{escape(pointer)}">{escape(text)}</span>'


def median_and_spread(at: str, row: dict[str, float]) -> str:
    """The median time at JSON path `at`, and below it the fastest to the slowest run."""
    return (
        shown(f"{at}/median", duration(row["median"]), "gilbook-median")
        + '<span class="gilbook-spread">'
        + shown(f"{at}/min", duration(row["min"]), "gilbook-min")
        + " to "
        + shown(f"{at}/max", duration(row["max"]), "gilbook-max")
        + "</span>"
    )


def timing_cell(run: Run, variant: str, *, cost: bool = False) -> str:
    """Speedup over the baseline (or, for a cost, times as long), median time and spread,
    and the parallel efficiency where the example measured the machine's capacity."""
    if variant == CAPACITY_ROW:
        return capacity_cell(run)
    timings = run.data["timings"]
    index = run.timing_index(variant)
    base = run.timing_index(run.data["baseline"])
    top, bottom = (index, base) if cost else (base, index)
    # Interleaved rounds: the median of the ratios within each round (see Run.ratio).
    field = "seconds" if run.data.get("interleaved") else "median"
    pointers = f"timings/{top}/{field} timings/{bottom}/{field}"
    value = run.ratio(timings[top]["variant"], timings[bottom]["variant"])
    cell = f'<span class="gilbook-speedup" data-ratio="{pointers}">{ratio(value)}</span> '
    efficiency = None if cost or base == index else run.efficiency(variant)
    if efficiency is not None:
        inputs = f"timings/{base}/seconds timings/{index}/seconds " + (
            f"timings/{index}/ideal"
            if "ideal" in timings[index]
            else f"capacity/seconds timings/{index}/workers"
        )
        cell += (
            f'<span class="gilbook-efficiency">efficiency <span data-efficiency="{inputs}">'
            f"{efficiency:.2f}</span></span>"
        )
    return cell + median_and_spread(f"timings/{index}", timings[index])


def capacity_cell(run: Run) -> str:
    """How many cores' worth of Python ran at once during the run: median, then min to max."""
    capacity = run.data["capacity"]
    return (
        shown("capacity/median", significant(capacity["median"]), "gilbook-headline")
        + '<span class="gilbook-spread">'
        + shown("capacity/min", significant(capacity["min"]), "gilbook-min")
        + " to "
        + shown("capacity/max", significant(capacity["max"]), "gilbook-max")
        + f" of {escape(str(capacity['cores']))} cores</span>"
        + (
            '<span class="gilbook-efficiency">best speedup it allows: '
            + shown("capacity/best_speedup", ratio(capacity["best_speedup"]), "gilbook-ratio")
            + "</span>"
            if "best_speedup" in capacity
            else ""
        )
    )


def needs_runs(render: Callable[..., HTML]) -> Callable[..., HTML]:
    """A table of an example that ran nowhere (its dependency was missing) says only why."""

    def rendered(example: ExampleRuns, *args: str) -> HTML:
        return render(example, *args) if example.runs else HTML(unavailable_note(example))

    return rendered


@needs_runs
def timings_table(example: ExampleRuns) -> HTML:
    """One row per variant, one column per interpreter: speedup, median and spread."""
    first = example.runs[0].data
    how = (
        "in each round, its time divided by the variant's; the median over the rounds"
        if first.get("interleaved")
        else "its median time divided by the variant's"
    )
    title = (
        f"speedup over {escape(first['baseline'])} ({how}), then the median time of "
        f"{first['parameters']['repeats']} runs and, below it, the fastest to the slowest run."
    )
    rows = [(t["variant"], t["label"]) for t in first["timings"]]
    if all(run.capacity for run in example.runs):
        title += (
            " The last row is the machine's capacity: how many cores' worth of Python code "
            "ran at once, measured in every round. A variant's efficiency is its speedup over "
            "the most its workers could get in the same round."
        )
        rows.append((CAPACITY_ROW, "capacity of the machine"))
    return results_table(example, title, rows, timing_cell, core_limit_note(example.runs))


@needs_runs
def costs_table(example: ExampleRuns, what: str) -> HTML:
    """Like `timings_table`, for costs: each variant's time as a multiple of the baseline's."""
    first = example.runs[0].data
    how = (
        "in each round, the variant's time divided by its; the median over the rounds"
        if first.get("interleaved")
        else "the variant's median time divided by its"
    )
    title = (
        f"{escape(what)}: the time as a multiple of {escape(first['baseline'])}'s ({how}), "
        f"then the median time of "
        f"{first['parameters']['repeats']} runs and, below it, the fastest to the slowest."
    )
    rows = [(t["variant"], t["label"]) for t in first["timings"]]
    return results_table(example, title, rows, partial(timing_cell, cost=True))


def race_cell(run: Run, variant: str) -> str:
    """Lost updates out of the expected count (median, then min to max), and the time."""
    index = run.timing_index(variant)
    row = run.data["timings"][index]
    at = f"timings/{index}"
    return (
        '<span class="gilbook-headline">lost '
        + shown(f"{at}/lost_median", display(row["lost_median"]), "gilbook-lost")
        + "</span>"
        + '<span class="gilbook-spread">'
        + shown(f"{at}/lost_min", display(row["lost_min"]), "gilbook-min")
        + " to "
        + shown(f"{at}/lost_max", display(row["lost_max"]), "gilbook-max")
        + " of "
        + shown(f"{at}/expected", display(row["expected"]), "gilbook-expected")
        + "</span>"
        + median_and_spread(at, row)
    )


@needs_runs
def race_table(example: ExampleRuns) -> HTML:
    """One row per variant: how many updates the threads lost, and how long it took."""
    first = example.runs[0].data
    parameters = first["parameters"]
    title = (
        f"{parameters['threads']} threads each add 1 to a shared counter "
        f"{parameters['increments']:,} times; {parameters['repeats']} races per variant. "
        "Each cell: the median number of lost updates, then the fewest to the most lost "
        "out of the updates expected, then the median time of a race and, below it, the "
        "fastest to the slowest race."
    )
    rows = [(t["variant"], t["label"]) for t in first["timings"]]
    return results_table(example, title, rows, race_cell)


def listings(example: ExampleRuns, key: str, what: str) -> HTML:
    """A text field of every run's JSON (such as a bytecode listing), one block per column."""
    blocks = "".join(
        f'<figure class="gilbook-listing"><figcaption>{escape(what)} on '
        f"{escape(column_heading(run))}</figcaption>"
        f'<pre data-interpreter="{escape(run.interpreter.key)}" data-json="{escape(key)}">'
        f"{escape(run.data[key])}</pre></figure>"
        for run in example.runs
    )
    return HTML(f'<div class="gilbook-listings">{blocks}</div>')


def display(value: object) -> str:
    """An observed value as the tables show it."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return significant(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@needs_runs
def observations_table(example: ExampleRuns, title: str) -> HTML:
    """One row per observation, one column per interpreter: what each one reported."""
    rows = [(o["name"], o["label"]) for o in example.runs[0].data["observations"]]

    def cell(run: Run, name: str) -> str:
        index = next((i for i, o in enumerate(run.data["observations"]) if o["name"] == name), None)
        if index is None:
            return "not reported"
        value = run.data["observations"][index]["value"]
        return shown(f"observations/{index}/value", display(value), "gilbook-value")

    return results_table(example, escape(title), rows, cell, rows_heading="observation")


def results_table(
    example: ExampleRuns,
    title: str,
    rows: list[tuple[str, str]],
    cell: Callable[[Run, str], str],
    notes: str = "",
    rows_heading: str = "variant",
) -> HTML:
    """A table of one example's runs: a row per key, a column per interpreter.

    `title` is HTML; `cell(run, key)` returns the HTML inside one cell. The caption
    carries the provenance of every column; the raw JSON follows the table.
    """
    runs = example.runs
    missing = [u.interpreter for u in example.unavailable]
    head = "".join(f'<th scope="col">{escape(column_heading(r))}</th>' for r in runs) + "".join(
        f'<th scope="col">{escape(i.label)} (GIL {i.gil})</th>' for i in missing
    )
    not_measured = '<td class="gilbook-unavailable">not measured</td>' * len(missing)
    body = "".join(
        f'<tr><th scope="row">{escape(label)}</th>'
        + "".join(
            f'<td data-row="{escape(key)}" data-interpreter="{escape(r.interpreter.key)}">'
            f"{cell(r, key)}</td>"
            for r in runs
        )
        + not_measured
        + "</tr>"
        for key, label in rows
    )
    caption = (
        f'<span class="gilbook-title"><code>{escape(example.name)}</code>: {title}</span>'
        f"{provenance_lines(runs)}"
        f'<span class="gilbook-origin">{ORIGIN_PLACEHOLDER}</span>'
    )
    return HTML(
        '<div class="gilbook-results">'
        f'<table class="gilbook-table"><caption>{caption}</caption>'
        f'<thead><tr><th scope="col">{escape(rows_heading)}</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
        f"{notes}{unavailable_note(example)}{missing_free_threading_note(example)}"
        f"{cross_version_note(example)}{raw_json(runs)}"
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
        f"{column_heading(r)}: {flags(r.interpreter)}{job_parameters(r)}"
        f"{r.data['provenance']['start_method']} start method, {mode}, "
        f"measured {r.data['provenance']['timestamp_utc']}."
        for r in runs
    ]
    return "".join(f'<span class="gilbook-provenance">{escape(line)}</span>' for line in lines)


def flags(interpreter: Interpreter) -> str:
    """How the interpreter was compiled, as the start of a provenance line ("built ...; ")."""
    return f"{interpreter.build_flags}; " if interpreter.build_flags else ""


def job_parameters(run: Run) -> str:
    """The example's own parameters, such as the size of its job ("work=8,100,000, ")."""
    own = {k: v for k, v in run.data["parameters"].items() if k not in {"quick", "repeats"}}
    return "".join(
        f"{key}={value:,}, " if isinstance(value, int) else f"{key}={value}, "
        for key, value in own.items()
    )


def core_limit_note(runs: list[Run]) -> str:
    cores = distinct(str(r.data["provenance"]["usable_cores"]) for r in runs)
    note = (
        f"This machine had {' or '.join(cores)} usable cores, so that many times faster is "
        "the most that parallel work can gain here; workers beyond that number only take "
        "turns."
    )
    for run in (r for r in runs if r.short_of_cores):
        capacity = run.capacity or {}
        note += (
            f" While {run.interpreter.label} ran, the machine delivered a median of "
            f"{significant(capacity['median'])} cores' worth of Python at once "
            f"({attempts(run.data['provenance'].get('attempts', 1))}), well below one per logical "
            "core: a busy machine, hyper-threaded sibling cores or slower cores give less, and "
            "the parallel speedups in that column are bounded by it."
        )
    return f'<p class="gilbook-note gilbook-capacity">{escape(note)}</p>'


def attempts(count: int) -> str:
    """How many times the example ran for the run shown: "1 attempt", "the most of 3"."""
    return "in 1 attempt" if count == 1 else f"the most in {count} attempts"


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


def unavailable_note(example: ExampleRuns) -> str:
    """Why some interpreters have no results here (an example's dependency was missing)."""
    if not example.unavailable:
        return ""
    items = "".join(
        f"<li>{escape(u.interpreter.label)}: {escape(u.reason)}</li>" for u in example.unavailable
    )
    return f'<div class="gilbook-note gilbook-missing"><p>Not measured:</p><ul>{items}</ul></div>'


def cross_version_note(example: ExampleRuns) -> str:
    """Say so when the free-threaded column has no default build of its own version beside it."""
    free = example.by(free_threaded=True)
    if free is None or any(r.interpreter.key == free.interpreter.twin for r in example.runs):
        return ""
    return f'<p class="gilbook-note gilbook-cross-version">{escape(no_twin_sentence(free))}</p>'


def no_twin_sentence(free: Run) -> str:
    version = ".".join(free.interpreter.version.split(".")[:2])
    return (
        f"This build found no default build of CPython {version} to set beside "
        f"{free.interpreter.label}, so comparing it with another column compares two "
        "versions as well as two builds: such a difference is not the cost of free threading. "
        f"Put python{version} beside python{version}t, on PATH or in GILBOOK_PYTHONS, "
        "to measure that cost."
    )


def comparison_caveat(gil: Run, free: Run) -> str:
    """A sentence for the prose when `gil` is not `free`'s twin, or was compiled differently."""
    if gil.interpreter.key != free.interpreter.twin:
        return (
            f"This compares {free.interpreter.label} with {gil.interpreter.label}: a "
            "cross-version comparison, which measures everything that changed between the "
            "versions too, not the cost of free threading alone."
        )
    if gil.interpreter.optimizations != free.interpreter.optimizations:
        return (
            f"The two builds were compiled differently ({gil.interpreter.build_flags or '?'}, "
            f"{free.interpreter.build_flags or '?'}), which changes their speed too."
        )
    return ""


def raw_json(runs: Iterable[Run]) -> str:
    """Each run's JSON: what the example printed, with the provenance the build added."""
    blocks = "".join(
        f"<p>{escape(run.interpreter.label)} ({escape(run.interpreter.path)}):</p>"
        f'<pre class="gilbook-raw" data-interpreter="{escape(run.interpreter.key)}">'
        f"{escape(json.dumps(run.data, indent=2, ensure_ascii=False))}</pre>"
        for run in runs
    )
    return f'<details class="gilbook-raw-json"><summary>Raw JSON of these runs</summary>{blocks}</details>'


def distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def interpreters_table(found: list[Interpreter], skipped: list[Skipped]) -> HTML:
    """The interpreters this build found, which pages measure each, and the ones it skipped."""
    by_key = {i.key: i for i in found}
    default = {i.key for i in select(found)}

    def twin(i: Interpreter) -> str:
        if not i.free_threaded:
            return ""
        line = f"twin: {by_key[i.twin].label}" if i.twin in by_key else "no twin found"
        return f'<span class="gilbook-provenance">{escape(line)}</span>'

    compiled = {"": "n/a", "none": "neither PGO nor LTO"}
    rows = "".join(
        f'<tr><th scope="row">{escape(i.label)}'
        f'<span class="gilbook-provenance"><code>{escape(i.path)}</code></span>{twin(i)}</th>'
        f"<td>{escape(i.gil)}</td><td>{escape(compiled.get(i.optimizations, i.optimizations))}</td>"
        f"<td>{'every page' if i.key in default else 'pages that ask for all'}</td>"
        f"<td>{escape(i.found_by)}</td></tr>"
        for i in found
    )
    headings = ("interpreter", "GIL", "compiled with", "measured on", "found by")
    table = (
        '<table class="gilbook-table gilbook-text-table"><caption>Interpreters found by this '
        "build. Pages measure the build's own Python, the newest free-threaded CPython that "
        "has a twin (the default build of the same version) with its twin, or else the newest "
        "free-threaded CPython alone, and the newest PyPy; pages about versions measure "
        "every one.</caption><thead><tr>"
        + "".join(f'<th scope="col">{h}</th>' for h in headings)
        + f"</tr></thead><tbody>{rows}</tbody></table>"
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


def machine_table(interpreter: Interpreter) -> HTML:
    """The machine that runs the build, as `interpreter` described it at the build's start."""
    here = interpreter.machine
    rows = [
        ("CPU", here["cpu_model"]),
        ("logical cores", here["logical_cores"]),
        ("cores this build may use", here["usable_cores"]),
        ("operating system", here["os"]),
        ("multiprocessing start method", here["start_method"]),
    ]
    body = "".join(
        f'<tr><th scope="row">{escape(name)}</th><td>{escape(str(value))}</td></tr>'
        for name, value in rows
    )
    return HTML(
        '<table class="gilbook-table gilbook-text-table"><caption>The machine that built '
        f"this book.</caption><tbody>{body}</tbody></table>"
    )
