"""Charts drawn at build time from the examples' JSON, readable in light and dark mode.

Charts are inline SVG whose text and axes use the page's own text colour
(``currentColor``), so they follow the theme's light or dark mode. Every chart
has alt text made from the same numbers, and a caption.
"""

from __future__ import annotations

import io
import textwrap
from html import escape
from typing import Any

import matplotlib as mpl

mpl.use("agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator
from matplotlib.typing import RcKeyType

from gilbook.runner import ExampleRuns, Run
from gilbook.tables import HTML, column_heading, data_size, duration, ratio, significant

# Drawn in this colour, then replaced by the page's text colour.
INK = "#123456"
# Okabe and Ito's palette, distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
HATCHES = ("", "//", "..", "xx", "\\\\", "--")
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # real text, in the page's font
    "font.size": 11,
    "text.color": INK,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}


def speedup_chart(example: ExampleRuns) -> HTML:
    """Grouped bars: speedup over the baseline of every variant, one colour per interpreter."""
    runs = example.runs
    baseline = runs[0].data["baseline"]
    variants = [(t["variant"], t["label"]) for t in runs[0].data["timings"]]
    variants = [(name, label) for name, label in variants if name != baseline]
    cores = max(r.data["provenance"]["usable_cores"] for r in runs)
    width = 0.8 / len(runs)

    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7.5, 4.6), layout="constrained")
        for i, run in enumerate(runs):
            positions = [v + (i - (len(runs) - 1) / 2) * width for v in range(len(variants))]
            axes.bar(
                positions,
                [run.speedup(name) for name, _ in variants],
                width,
                label=column_heading(run),
                color=PALETTE[i % len(PALETTE)],
                hatch=HATCHES[i % len(HATCHES)],
                edgecolor=INK,
                linewidth=0.4,
            )
            if run.capacity:  # over each bar, the most its workers could get in this run
                ceilings = [
                    min(run.timing(name)["workers"], run.capacity["median"]) for name, _ in variants
                ]
                axes.hlines(ceilings, [p - width / 2 for p in positions],
                            [p + width / 2 for p in positions], color=INK, linewidth=2,
                            label="the most its workers could get" if i == 0 else "_hidden")  # fmt: skip
        axes.axhline(cores, color=INK, linestyle="--", linewidth=1)
        axes.annotate(f"{cores} cores: the limit", (-0.5, cores), ha="left", va="bottom")
        axes.axhline(1, color=INK, linewidth=0.6)
        axes.set_xticks(range(len(variants)), [label for _, label in variants])
        axes.set_ylabel(f"speedup over {baseline} (×)")
        axes.set_ylim(0, max(cores, *(r.speedup(n) for r in runs for n, _ in variants)) * 1.15)
        figure.legend(loc="outside lower center", ncols=2, fontsize=9)
        svg = io.StringIO()
        figure.savefig(svg, format="svg", transparent=True, metadata={"Date": None})
        plt.close(figure)

    alt = f"Bar chart of speedup over {baseline}, drawn from the table above. " + " ".join(
        f"{column_heading(run)}: "
        + ", ".join(f"{label} {ratio(run.speedup(name))}" for name, label in variants)
        + (f"; capacity {significant(run.capacity['median'])} cores" if run.capacity else "")
        + "."
        for run in runs
    )
    caption = (
        f"Speedup of each variant of {escape(example.name)} over {escape(baseline)}, by "
        f"interpreter; higher is better. The dashed line marks the {cores} usable cores of "
        f"the machine that measured it: {cores}× is the most that parallel work can gain there."
    )
    if all(run.capacity for run in runs):
        caption += (
            " The short line over each bar is the most that variant's workers could get while "
            "it ran: the number of workers, or the capacity the machine delivered during that "
            "interpreter's run, whichever is smaller."
        )
    return figure_html(svg.getvalue(), alt, caption)


def timeline_chart(run: Run) -> HTML:
    """One panel per way of working, one row per worker, one bar per step."""
    timelines: dict[str, list[dict[str, Any]]] = run.data["timelines"]
    labels = {t["variant"]: t["label"] for t in run.data["timings"]}
    end = max(step["end"] for log in timelines.values() for step in log)
    heights = [len({step["worker"] for step in log}) + 0.6 for log in timelines.values()]
    colours = {"work": PALETTE[0], "wait": PALETTE[1]}

    with plt.rc_context(STYLE):
        figure, panels = plt.subplots(
            len(timelines), 1, figsize=(7.5, 1.0 + 0.42 * sum(heights)), sharex=True,
            height_ratios=heights, layout="constrained",
        )  # fmt: skip
        for axes, (way, log) in zip(panels, timelines.items(), strict=True):
            workers = list(dict.fromkeys(step["worker"] for step in log))
            for step in log:
                row = workers.index(step["worker"])
                width = step["end"] - step["start"]
                axes.barh(row, width, left=step["start"], height=0.7,
                          color=colours[step["kind"]], edgecolor=INK, linewidth=0.4,
                          hatch="//" if step["kind"] == "wait" else "")  # fmt: skip
                if width > end * 0.08:
                    ink = "#ffffff" if step["kind"] == "work" else "#000000"
                    axes.text(step["start"] + width / 2, row, step["step"], ha="center",
                              va="center", fontsize=7, color=ink)  # fmt: skip
            axes.set_yticks(range(len(workers)), workers, fontsize=8)
            axes.invert_yaxis()
            axes.set_title(labels[way], loc="left", fontsize=10)
        panels[-1].set_xlabel("seconds since the recipe started")
        handles = [Rectangle((0, 0), 1, 1, color=colours["work"], label="working (CPU)"),
                   Rectangle((0, 0), 1, 1, color=colours["wait"], hatch="//",
                                 label="waiting (baking)")]  # fmt: skip
        figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=9)
        svg = io.StringIO()
        figure.savefig(svg, format="svg", transparent=True, metadata={"Date": None})
        plt.close(figure)

    alt = f"Timeline of every step on {column_heading(run)}. " + " ".join(
        f"{labels[way]}: finished after {duration(max(s['end'] for s in log))}, "
        + f"using {len({s['worker'] for s in log})} worker(s)."
        for way, log in timelines.items()
    )
    caption = (
        f"When each step of the recipe ran, on {escape(column_heading(run))}: one panel per "
        "way of cooking, one row per worker (thread, process or event loop). Solid bars "
        "are working steps, hatched bars are waiting. Taken from the last run of each way."
    )
    return figure_html(svg.getvalue(), alt, caption)


def figure_html(svg: str, alt: str, caption: str) -> HTML:
    """An inline SVG chart in the page's text colour, with alt text and a caption."""
    image = svg.replace(INK, "currentColor")
    image = image[image.index("<svg") :].replace(
        "<svg", f'<svg role="img" aria-label="{escape(alt)}"', 1
    )
    return HTML(
        f'<figure class="gilbook-figure">{image}<figcaption>{caption}</figcaption></figure>'
    )


def latency_chart(example: ExampleRuns) -> HTML:
    """Round-trip latency against the switch interval: median and 99th percentile,
    one colour per interpreter, the round trip alone as a flat line."""
    runs = example.runs
    busy = [t for t in runs[0].data["timings"] if t["interval"] is not None]
    intervals = [t["interval"] * 1000 for t in busy]

    def row(run: Run, variant: str) -> dict[str, Any]:
        return run.timing(variant)

    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7.5, 4.6), layout="constrained")
        for i, run in enumerate(runs):
            colour = PALETTE[i % len(PALETTE)]
            for key, style, what in (("p99", "-", "99th percentile"), ("median", ":", "median")):
                axes.plot(intervals, [row(run, t["variant"])[key] * 1000 for t in busy],
                          style, marker="o", color=colour,
                          label=f"{column_heading(run)}, {what}")  # fmt: skip
            axes.axhline(row(run, "alone")["p99"] * 1000, color=colour, linewidth=0.8,
                         linestyle="--")  # fmt: skip
        axes.plot(intervals, [2 * x for x in intervals], color=INK, linewidth=0.8,
                  label="twice the switch interval")  # fmt: skip
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.minorticks_off()
        axes.set_xticks(intervals, [f"{x:g}" for x in intervals])
        axes.set_xlabel("switch interval (ms)")
        axes.set_ylabel("round-trip time (ms)")
        figure.legend(loc="outside lower center", ncols=2, fontsize=8)
        svg = io.StringIO()
        figure.savefig(svg, format="svg", transparent=True, metadata={"Date": None})
        plt.close(figure)

    alt = "Line chart of the echo's round-trip time against the switch interval. " + " ".join(
        f"{column_heading(run)}: alone, 99th percentile {duration(row(run, 'alone')['p99'])}; "
        + ", ".join(
            f"at {t['interval'] * 1000:g} ms, median {duration(row(run, t['variant'])['median'])}"
            f" and 99th percentile {duration(row(run, t['variant'])['p99'])}"
            for t in busy
        )
        + "."
        for run in runs
    )
    caption = (
        f"Round-trip time of {escape(example.name)}'s echo beside a CPU-bound thread, by "
        "switch interval (both axes logarithmic): solid lines are the 99th percentile, dotted "
        "lines the median, one colour per interpreter; each dashed line is that interpreter's "
        "99th percentile with the echo alone, and the thin black line is twice the interval."
    )
    return figure_html(svg.getvalue(), alt, caption)


def startup_chart(example: ExampleRuns, order: list[tuple[str, str]]) -> HTML:
    """Horizontal bars on a logarithmic axis: each way's median time to its first result,
    with a line from the fastest to the slowest start, one colour per interpreter.

    `order` lists the (variant, label) rows to draw, top to bottom; a run that lacks a
    variant draws no bar for it.
    """
    runs = example.runs
    height = 0.8 / len(runs)

    def bars(run: Run) -> list[tuple[int, dict[str, Any]]]:
        names = {t["variant"]: t for t in run.data["timings"]}
        return [(row, names[name]) for row, (name, _) in enumerate(order) if name in names]

    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7.5, 1.4 + 0.55 * len(order)), layout="constrained")
        for i, run in enumerate(runs):
            drawn = bars(run)
            offset = (i - (len(runs) - 1) / 2) * height
            medians = [t["median"] * 1000 for _, t in drawn]
            axes.barh(
                [row + offset for row, _ in drawn],
                medians,
                height,
                xerr=[
                    [m - t["min"] * 1000 for m, (_, t) in zip(medians, drawn, strict=True)],
                    [t["max"] * 1000 - m for m, (_, t) in zip(medians, drawn, strict=True)],
                ],
                label=column_heading(run),
                color=PALETTE[i % len(PALETTE)],
                hatch=HATCHES[i % len(HATCHES)],
                edgecolor=INK,
                linewidth=0.4,
                error_kw={"ecolor": INK, "elinewidth": 0.8, "capsize": 2},
            )
        axes.set_xscale("log")
        axes.set_yticks(range(len(order)), [label for _, label in order])
        axes.invert_yaxis()
        axes.set_xlabel("time to the first result (ms, logarithmic)")
        figure.legend(loc="outside lower center", ncols=2, fontsize=9)
        svg = io.StringIO()
        figure.savefig(svg, format="svg", transparent=True, metadata={"Date": None})
        plt.close(figure)

    alt = "Bar chart of the time from asking for a worker to its first result. " + " ".join(
        f"{column_heading(run)}: "
        + ", ".join(f"{t['label']} {duration(t['median'])}" for _, t in bars(run))
        + "."
        for run in runs
    )
    caption = (
        f"How long {escape(example.name)} waited for the first result of one more worker, "
        "by way of starting it and by interpreter, on a logarithmic axis: each step of the "
        "grid is ten times the one before. Bars are medians; the thin lines run from the "
        "fastest to the slowest start."
    )
    return figure_html(svg.getvalue(), alt, caption)


def payload_chart(example: ExampleRuns) -> HTML:
    """Time per call against the payload per task, both axes logarithmic, one panel per
    interpreter: a line per way of running the tasks (the example's ``kinds``), bars from
    the fastest to the slowest round, and a dotted line where the pickling pool's speedup
    over one thread fell below 1, where it did."""
    runs = example.runs
    kinds: dict[str, str] = runs[0].data["kinds"]
    styles = ("-", "--", "-.", ":")
    markers = ("o", "s", "^", "D")

    def points(run: Run, kind: str) -> tuple[list[int], list[dict[str, Any]]]:
        sizes: list[int] = run.data["sizes"]
        return sizes, [run.timing(f"{kind}-{size}") for size in sizes]

    with plt.rc_context(STYLE):
        figure, panels = plt.subplots(
            len(runs), 1, figsize=(7.5, 1.3 + 3.1 * len(runs)), sharex=True, squeeze=False,
            layout="constrained",
        )  # fmt: skip
        for axes, run in zip(panels[:, 0], runs, strict=True):
            for i, (kind, label) in enumerate(kinds.items()):
                sizes, rows = points(run, kind)
                medians = [t["median"] * 1000 for t in rows]
                axes.errorbar(
                    sizes, medians, label=label, color=PALETTE[i % len(PALETTE)],
                    linestyle=styles[i % len(styles)], marker=markers[i % len(markers)],
                    markersize=4, capsize=2, elinewidth=0.8,
                    yerr=[[m - t["min"] * 1000 for m, t in zip(medians, rows, strict=True)],
                          [t["max"] * 1000 - m for m, t in zip(medians, rows, strict=True)]],
                )  # fmt: skip
            found = run.data["crossovers"]["processes"]
            if found["payload"]:
                axes.axvline(found["payload"], color=INK, linestyle=":", linewidth=1)
                axes.annotate(
                    f" pool slower than one thread\n from about {data_size(found['payload'])}",
                    (found["payload"], 0.97), xycoords=("data", "axes fraction"), va="top",
                    fontsize=8,
                )  # fmt: skip
            axes.set_xscale("log", base=2)
            axes.set_yscale("log")
            axes.minorticks_off()
            sizes = run.data["sizes"]
            axes.set_xticks(sizes, [data_size(s) for s in sizes])
            axes.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
            axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            axes.set_ylabel("time per call (ms)")
            axes.set_title(column_heading(run), loc="left", fontsize=10)
        panels[-1, 0].set_xlabel("payload per task (logarithmic)")
        handles, labels = panels[0, 0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8)
        svg = io.StringIO()
        figure.savefig(svg, format="svg", transparent=True, metadata={"Date": None})
        plt.close(figure)

    def described(run: Run) -> str:
        lines = []
        for kind, label in kinds.items():
            sizes, rows = points(run, kind)
            lines.append(
                f"{label}: {duration(rows[0]['median'])} at {data_size(sizes[0])} per task, "
                f"{duration(rows[-1]['median'])} at {data_size(sizes[-1])}"
            )
        found = run.data["crossovers"]["processes"]
        where = (
            f"the pickling pool became slower than one thread at about {data_size(found['payload'])}"
            if found["payload"]
            else f"no crossover of the pickling pool ({found['kind']})"
        )
        return f"{column_heading(run)}: " + "; ".join(lines) + f"; {where}."

    alt = "Line chart of the time per call against the payload per task. " + " ".join(
        described(run) for run in runs
    )
    tasks = runs[0].data["parameters"]["tasks"]
    caption = (
        f"Time for one call of {tasks} tasks against the payload each task carries, both "
        "axes logarithmic, one panel per interpreter: markers are medians, bars run from the "
        "fastest to the slowest round. A dotted line marks where the pool that pickles its "
        "data became slower than one thread, interpolated between the sizes around it."
    )
    return figure_html(svg.getvalue(), alt, caption)


def scaling_chart(
    example: ExampleRuns, workloads: dict[str, str], tools: dict[str, str], note: str = ""
) -> HTML:
    """Speedup against the number of workers: a panel per interpreter and workload, a line
    per tool, with the ideal (a speedup equal to the workers) and the usable cores marked.

    Each timing names its ``workload``, ``tool`` and ``workers`` (or ``at_once``, the most
    tasks under way at once, where that differs); the timing whose tool is
    ``"sequential"`` is the baseline of its workload's speedups. `workloads` and `tools`
    map those names to what the chart calls them, in the order to draw them; `note` ends
    the caption.
    """
    from matplotlib.lines import Line2D
    from matplotlib.typing import LineStyleType as LineStyle

    runs = example.runs
    cores = max(r.data["provenance"]["usable_cores"] for r in runs)
    markers = ("o", "s", "^", "D", "v", "P")
    styles: tuple[LineStyle, ...] = ("-", "--", "-.", ":", "-", "--")

    def lines(run: Run, workload: str) -> dict[str, list[tuple[int, float]]]:
        rows = [t for t in run.data["timings"] if t["workload"] == workload]
        base = next(t["variant"] for t in rows if t["tool"] == "sequential")
        return {
            tool: [
                (t.get("at_once", t["workers"]), run.ratio(base, t["variant"]))
                for t in rows
                if t["tool"] == tool
            ]
            for tool in tools
            if any(t["tool"] == tool for t in rows)
        }

    drawn = {(i, w): lines(run, w) for i, run in enumerate(runs) for w in workloads}
    counts = sorted({n for found in drawn.values() for p in found.values() for n, _ in p})
    top = max([*counts, cores, *(s for f in drawn.values() for p in f.values() for _, s in p)])
    with plt.rc_context(STYLE):
        figure, panels = plt.subplots(
            len(runs),
            len(workloads),
            figsize=(7.5, 1.4 + 2.5 * len(runs)),
            sharex=True,
            sharey=True,
            squeeze=False,
            layout="constrained",
        )
        for (i, workload), found in drawn.items():
            axes = panels[i][list(workloads).index(workload)]
            axes.plot(counts, counts, color=INK, linestyle="--", linewidth=0.8)
            axes.axhline(cores, color=INK, linestyle=":", linewidth=1.2)
            axes.axhline(1, color=INK, linewidth=0.5)
            for k, tool in enumerate(tools):
                if tool in found:
                    x, y = zip(*found[tool], strict=True)
                    axes.plot(
                        x,
                        y,
                        marker=markers[k],
                        linestyle=styles[k],
                        color=PALETTE[k % len(PALETTE)],
                        linewidth=1.5,
                    )
            axes.set_xscale("log", base=2)
            axes.set_xticks(counts, [str(n) for n in counts])
            axes.minorticks_off()
            axes.set_ylim(0, top * 1.12)
            axes.set_title(
                f"{column_heading(runs[i])}: {workloads[workload]}", loc="left", fontsize=9
            )
        for axes in panels[-1]:
            axes.set_xlabel("workers (tasks under way at once)")
        for row in panels:
            row[0].set_ylabel("speedup (×)")
        handles = [
            Line2D(
                [],
                [],
                color=PALETTE[k % len(PALETTE)],
                marker=markers[k],
                linestyle=styles[k],
                label=name,
            )
            for k, (tool, name) in enumerate(tools.items())
            if any(tool in found for found in drawn.values())
        ]
        handles += [
            Line2D([], [], color=INK, linestyle="--", linewidth=0.8, label="ideal: one per worker"),
            Line2D([], [], color=INK, linestyle=":", linewidth=1.2, label=f"{cores} usable cores"),
        ]
        figure.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9)
        svg = io.StringIO()
        figure.savefig(svg, format="svg", transparent=True, metadata={"Date": None})
        plt.close(figure)

    def described(points: list[tuple[int, float]]) -> str:
        return ", ".join(f"{ratio(s)} with {n}" for n, s in points)

    alt = "Line charts of speedup against the number of workers, drawn from the table. " + " ".join(
        f"{column_heading(runs[i])}, {workloads[w]}: "
        + "; ".join(f"{tools[tool]} {described(points)}" for tool, points in found.items())
        + "."
        for (i, w), found in drawn.items()
    )
    caption = (
        f"Speedup of each tool over the sequential run of the same job, against the number of "
        f"workers, for {escape(example.name)}: one row of panels per interpreter, one column "
        f"per job ({escape(', '.join(workloads.values()))}, left to right); higher is better. "
        "The dashed diagonal is the ideal, one sequential run's worth per worker. The dotted "
        f"line marks the {cores} usable cores of the machine that measured it: the most that "
        f"work needing a core can gain there. {note}"
    ).rstrip()
    return figure_html(svg.getvalue(), alt, caption)


def lateness_chart(example: ExampleRuns) -> HTML:
    """How late a timer task woke beside each way of running CPU-bound work, and alone: one
    box per way and interpreter (quartiles, whiskers to the extremes), logarithmic axis."""
    runs = example.runs
    rows = [(t["variant"], t["label"]) for t in runs[0].data["timings"] if "lateness" in t]
    rows.append(("alone", "the timer alone"))
    floor = 1e-3  # milliseconds: the log axis shows a wake-up on time (or a hair early) here

    def ticks(run: Run, key: str) -> dict[str, Any]:
        return dict(run.data["timer_alone"]) if key == "alone" else run.timing(key)

    height = 0.8 / len(runs)
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(
            figsize=(7.5, 1.6 + 0.45 * len(rows) * len(runs)), layout="constrained"
        )
        for i, run in enumerate(runs):
            colour, hatch = PALETTE[i % len(PALETTE)], HATCHES[i % len(HATCHES)]
            axes.boxplot(
                [[max(v * 1000, floor) for v in ticks(run, key)["lateness"]] for key, _ in rows],
                positions=[r + (i - (len(runs) - 1) / 2) * height for r in range(len(rows))],
                widths=height * 0.85,
                orientation="horizontal",
                whis=(0, 100),
                patch_artist=True,
                manage_ticks=False,
                boxprops={"facecolor": colour, "edgecolor": INK, "hatch": hatch},
                medianprops={"color": INK, "linewidth": 2},
                whiskerprops={"color": INK},
                capprops={"color": INK},
            )
        switch = runs[0].data["switch_interval"] * 1000
        axes.axvline(switch, color=INK, linestyle="--", linewidth=1)
        axes.annotate("switch interval", (switch, -0.5), ha="left", va="bottom", fontsize=8)
        axes.set_xscale("log")
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        labels = [textwrap.fill(label, 18) for _, label in rows]
        axes.set_yticks(range(len(rows)), labels, fontsize=9)
        axes.set_ylim(len(rows) - 0.5, -0.7)
        axes.set_xlabel("how late the timer woke (ms, logarithmic)")
        handles = [
            Rectangle(
                (0, 0),
                1,
                1,
                facecolor=PALETTE[i % len(PALETTE)],
                edgecolor=INK,
                hatch=HATCHES[i % len(HATCHES)],
                label=column_heading(run),
            )
            for i, run in enumerate(runs)
        ]
        figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=9)
        svg = io.StringIO()
        figure.savefig(svg, format="svg", transparent=True, metadata={"Date": None})
        plt.close(figure)

    def described(run: Run, key: str, label: str) -> str:
        row = ticks(run, key)
        if not row["ticks"]:
            return f"{label}: no tick"
        return (
            f"{label}: median {duration(row['lateness_median'])}, 90th percentile "
            f"{duration(row['lateness_p90'])}, slowest {duration(row['lateness_max'])}"
        )

    alt = "Box plot of how late a timer task woke, drawn from the table above. " + " ".join(
        f"{column_heading(run)}: " + "; ".join(described(run, k, lab) for k, lab in rows) + "."
        for run in runs
    )
    caption = (
        f"How late the timer task of {escape(example.name)} woke, asking to wake every "
        f"{escape(duration(runs[0].data['parameters']['tick']))}, beside each way of running "
        "the same CPU-bound jobs, and on an idle event loop (logarithmic axis). Each box spans "
        "the middle half of the ticks, the thick line is the median, the whiskers reach the "
        "earliest and the latest tick; one colour per interpreter. The dashed line is the "
        f"switch interval, {escape(duration(runs[0].data['switch_interval']))}. A tick on time "
        f"is drawn at {escape(duration(floor / 1000))}."
    )
    return figure_html(svg.getvalue(), alt, caption)


def ecdf_chart(
    example: ExampleRuns, panels: dict[str, str], what: str, marks: dict[str, float]
) -> HTML:
    """The distribution of every value of some timings, as empirical cumulative curves:
    a panel per variant (`panels` maps its name to the panel's title), a line per
    interpreter, the x axis logarithmic; `what` names the values ("how late a beat
    woke"), and `marks` draws a labelled vertical line at each of its values (seconds)."""
    runs = example.runs
    floor = 1e-6  # a logarithmic axis cannot show zero or less: drawn at one microsecond
    styles = ("-", "--", "-.", ":", "-", "--")

    def curve(values: list[float]) -> tuple[list[float], list[float]]:
        ordered = sorted(max(v, floor) * 1000 for v in values)
        return ordered, [(i + 1) / len(ordered) for i in range(len(ordered))]

    with plt.rc_context(STYLE):
        figure, axes_list = plt.subplots(
            len(panels),
            1,
            figsize=(7.5, 1.4 + 2.6 * len(panels)),
            sharex=True,
            squeeze=False,
            layout="constrained",
        )
        for axes, (variant, title) in zip(axes_list[:, 0], panels.items(), strict=True):
            for i, run in enumerate(runs):
                x, y = curve(run.timing(variant)["seconds"])
                axes.step(
                    x,
                    y,
                    where="post",
                    color=PALETTE[i % len(PALETTE)],
                    linestyle=styles[i % len(styles)],
                    linewidth=1.6,
                    label=column_heading(run),
                )
            for label, seconds in marks.items():
                axes.axvline(seconds * 1000, color=INK, linestyle=":", linewidth=1)
                axes.annotate(f" {label}", (seconds * 1000, 0.25), fontsize=8, ha="left")
            axes.set_xscale("log")
            axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
            axes.set_ylim(0, 1.02)
            axes.set_yticks([0, 0.5, 0.9, 0.99], ["0", "median", "90%", "99%"])
            axes.grid(axis="y", color=INK, alpha=0.25, linewidth=0.6)
            axes.set_title(title, loc="left", fontsize=10)
            axes.set_ylabel("share of values")
        axes_list[-1, 0].set_xlabel(f"{what} (ms, logarithmic)")
        handles, labels = axes_list[0, 0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8)
        svg = io.StringIO()
        figure.savefig(svg, format="svg", transparent=True, metadata={"Date": None})
        plt.close(figure)

    def described(run: Run, variant: str) -> str:
        row = run.timing(variant)
        return (
            f"{column_heading(run)}: median {duration(row['median'])}, 90th percentile "
            f"{duration(row['p90'])}, 99th percentile {duration(row['p99'])}, slowest "
            f"{duration(row['max'])}"
        )

    alt = f"Cumulative distributions of {what}, drawn from the table. " + " ".join(
        f"{title}: " + "; ".join(described(run, variant) for run in runs) + "."
        for variant, title in panels.items()
    )
    caption = (
        f"Every value of {escape(what)} in {escape(example.name)}, as cumulative curves: "
        "one panel per variant, one line per interpreter; a point on a line says what share "
        "of the values (up the axis) were at most that large (along it). A line further left "
        "is better; where it reaches the top is the slowest value. "
        + (f"Dotted lines mark the {escape(', the '.join(marks))}. " if marks else "")
        + "Values below a microsecond are drawn at a microsecond."
    )
    return figure_html(svg.getvalue(), alt, caption)
