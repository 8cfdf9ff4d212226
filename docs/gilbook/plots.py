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
from matplotlib.typing import RcKeyType

from gilbook.runner import ExampleRuns
from gilbook.tables import HTML, column_heading, ratio

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
        + "."
        for run in runs
    )
    image = svg.getvalue().replace(INK, "currentColor")
    image = image[image.index("<svg") :].replace(
        "<svg", f'<svg role="img" aria-label="{escape(alt)}"', 1
    )
    caption = (
        f"Speedup of each variant of {escape(example.name)} over {escape(baseline)}, by "
        f"interpreter; higher is better. The dashed line marks the {cores} usable cores of "
        f"the machine that measured it: {cores}× is the most that parallel work can gain there."
    )
    return HTML(
        f'<figure class="gilbook-figure">{image}<figcaption>{caption}</figcaption></figure>'
    )
