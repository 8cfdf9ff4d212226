"""Charts drawn at build time from the examples' JSON, readable in light and dark mode.

Charts are inline SVG whose text and axes use the page's own text colour
(``currentColor``), so they follow the theme's light or dark mode. Every chart
has alt text made from the same numbers, and a caption.
"""

from __future__ import annotations

import io
from html import escape
from typing import Any

import matplotlib as mpl

mpl.use("agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
from matplotlib.typing import RcKeyType

from gilbook.runner import ExampleRuns, Run
from gilbook.tables import HTML, column_heading, duration, ratio, significant

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
