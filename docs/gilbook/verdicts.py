"""Sentences that say what a measurement means, chosen by the measurement itself.

A verdict such as "two processes really do run Python at the same time" is only
true beside a speedup that shows it. Each function here reads a run's speedups,
its parallel efficiency and the capacity the machine delivered while it ran
(see `gilbook.runner.Run`), and picks the sentence that the numbers support, so
that the prose stays true on a quiet 16-core laptop and on a busy 2-core VM.
"""

from __future__ import annotations

import statistics

from gilbook.runner import Run
from gilbook.tables import duration, ratio, significant

# Below this many cores' worth of Python at once, a variant had no second core to speak of.
NO_ROOM = 1.3
# At or above this efficiency, a variant used (nearly) all the parallelism it could get.
PARALLEL = 0.8
# Two speedups within this factor of each other are "the same".
SAME = 1.1


def room(run: Run, variant: str) -> float:
    """The most the variant's workers could get: workers, or the measured capacity."""
    workers = int(run.timing(variant).get("workers", 1))
    return min(workers, run.capacity["median"]) if run.capacity else float(workers)


def capacity_phrase(run: Run) -> str:
    """ "1.93 cores' worth of Python code at once", as measured in the run."""
    if run.capacity is None:
        return "an unmeasured share of its cores"
    return f"{significant(run.capacity['median'])} cores' worth of Python code at once"


def parallel_verdict(run: Run, variant: str, what: str, alone: float = 1.0) -> str:
    """What a parallel variant's speedup says: it ran in parallel, it could not, or partly.

    `what` names the workers and what lets them run at once, such as "two
    processes, each with its own interpreter and GIL,". `alone` is the speedup
    that needs no parallelism at all: 1 for a job that is all work, more for one
    that a single worker can overlap with waiting. Only a speedup clearly above
    it shows workers running at the same time.
    """
    speedup, efficiency = run.speedup(variant), run.efficiency(variant)
    shown = f"**{ratio(speedup)}**"
    beyond_one_worker = speedup > alone * SAME
    if room(run, variant) < NO_ROOM and beyond_one_worker:
        return (
            f"They ran {shown} as fast as sequential code, although the machine delivered only "
            f"{capacity_phrase(run)} in the same rounds (the capacity row): {what} got part of a "
            "second core, less than a quiet machine gives. That happens on a busy machine, or on "
            "a virtual machine whose second core is a hyper-thread sibling or is lent to a "
            "neighbour."
        )
    if room(run, variant) < NO_ROOM:
        return (
            f"They ran {shown} as fast as sequential code; during this run, though, the machine "
            f"delivered only {capacity_phrase(run)} (the capacity row), so {what} had no second "
            "core to use. That happens on a busy machine, or on a virtual machine whose second "
            "core is a hyper-thread sibling or is lent to a neighbour; on a quiet machine with "
            "free cores they run at the same time."
        )
    if efficiency is not None and efficiency >= PARALLEL and beyond_one_worker:
        return (
            f"They ran {shown} as fast as sequential code, an efficiency of "
            f"**{efficiency:.2f}** of what the machine delivered in the same rounds: {what} "
            "really do execute Python at the same time."
        )
    if efficiency is None:
        return f"They ran {shown} as fast as sequential code."
    if not beyond_one_worker:
        return (
            f"They ran {shown} as fast as sequential code, no more than one worker alone can "
            f"gain here, although the machine delivered {capacity_phrase(run)} in the same "
            f"rounds: {what} showed no sign of running at the same time in this run."
        )
    return (
        f"They ran {shown} as fast as sequential code, an efficiency of only "
        f"**{efficiency:.2f}** of the {capacity_phrase(run)} that the machine delivered in "
        f"the same rounds: {what} ran partly at the same time, and something else (handing "
        "work over, or the machine's speed changing within a round) took the rest."
    )


def beyond_cores_verdict(run: Run, fewer: str, more: str, cores: int) -> str:
    """Compare a variant with more workers than cores (`more`) with one that fits (`fewer`)."""
    few, many = run.speedup(fewer), run.speedup(more)
    label = run.timing(more)["label"]
    if many <= few * SAME and many >= few / SAME:
        return (
            f"{label.capitalize()} ({ratio(many)}) gained nothing over "
            f"{run.timing(fewer)['label']} ({ratio(few)}): with {cores} usable cores, the "
            "extra workers only take turns."
        )
    if many > few:
        return (
            f"{label.capitalize()} ran {ratio(many)} as fast, more than "
            f"{run.timing(fewer)['label']} ({ratio(few)}) although this machine has only "
            f"{cores} usable cores: the machine's capacity changed during the run (compare the "
            "spread of the capacity row)."
        )
    return (
        f"{label.capitalize()} ({ratio(many)}) ran slower than "
        f"{run.timing(fewer)['label']} ({ratio(few)}): with {cores} usable cores, the extra "
        "workers take turns and add the cost of switching between them."
    )


def one_worker(run: Run, variant: str) -> str | None:
    """The 1-worker variant of the same kind as `variant` ("threads-1" for "threads-2")."""
    name = variant.rsplit("-", 1)[0] + "-1"
    return name if any(t["variant"] == name for t in run.data["timings"]) else None


# Efficiencies and speedups are shown with two decimals: below this they read 1.00.
SHOWN_ABOVE_ONE = 1.005


def above_one_note(run: Run, variants: list[str]) -> str:
    """Explain, from the run's own measurements, any efficiency above 1.

    Efficiency compares a variant with the sequential baseline, run by the main
    thread. Where one worker of the same kind alone already ran faster than the
    baseline, that measured head start is the explanation; otherwise the
    baseline's own spread is the margin to read it with.
    """
    above = [v for v in variants if (run.efficiency(v) or 0) >= SHOWN_ABOVE_ONE]
    if not above:
        return ""
    names = ", ".join(f"{run.timing(v)['label']} ({run.efficiency(v):.2f})" for v in above)
    head = (
        f"On {run.interpreter.label}, {names} came out above an efficiency of 1, which "
        "parallel workers cannot reach against the same code in the same place"
    )
    alone = {v: one_worker(run, v) for v in above}
    if all(alone.values()) and all(run.speedup(str(a)) >= SHOWN_ABOVE_ONE for a in alone.values()):
        started = ", ".join(
            f"{run.timing(str(a))['label']} alone ran {ratio(run.speedup(str(a)))} as fast"
            for a in dict.fromkeys(alone.values())
        )
        return (
            f"{head}: the baseline runs in the main thread, and in the same rounds {started} "
            "as the main thread, a head start each worker keeps."
        )
    base = run.timing(run.data["baseline"])
    spread = base["max"] / base["min"]
    return (
        f"{head}: the sequential baseline's own rounds spread from {duration(base['min'])} to "
        f"{duration(base['max'])}, a factor of {significant(spread)}, and that noise is the "
        "margin to read these values with."
    )


def step_stretch(run: Run, way: str) -> float:
    """How many times as long the workers' working steps took in `way` as the same steps
    in the baseline's timeline (the median over the steps, in the last round)."""
    timelines = run.data["timelines"]

    def working(name: str, *, workers_only: bool) -> dict[str, float]:
        return {
            e["step"]: e["end"] - e["start"]
            for e in timelines[name]
            if e["kind"] == "work" and not (workers_only and e["worker"] == "main thread")
        }

    baseline = working(run.data["baseline"], workers_only=False)
    steps = working(way, workers_only=True)
    return float(statistics.median(steps[s] / baseline[s] for s in steps if s in baseline))


def stretch_verdict(run: Run, way: str, workers: str, turns: str = "") -> str:
    """Whether the working steps of `way` kept their length, and why, from the timeline.

    `turns` says why the workers would take turns where the machine is not the
    reason, such as "with the GIL, they took turns on the interpreter".
    """
    stretch = step_stretch(run, way)
    if stretch <= SAME:
        return (
            f"in the round the timeline draws, their working steps kept their length "
            f"({significant(stretch)} times as long as in the sequential run): while they "
            f"worked, the "
            f"{workers} each had a core to themselves."
        )
    workers_count = int(run.timing(way).get("workers", 1))
    capacity = run.capacity["median"] if run.capacity else float(workers_count)
    if turns:
        why = turns
    elif capacity < workers_count:
        why = (
            f"the {workers} shared what the machine delivered, {capacity_phrase(run)}, so "
            "they took turns"
        )
    else:
        why = (
            f"the machine delivered {capacity_phrase(run)}, enough for every one of them, so "
            "each step ran slower rather than waiting its turn: a busier processor can run at "
            "a lower clock speed, and hyper-threaded sibling cores share one core's resources"
        )
    return (
        f"in the round the timeline draws, their working steps took {significant(stretch)} times as "
        f"long as in the sequential run: {why}."
    )
