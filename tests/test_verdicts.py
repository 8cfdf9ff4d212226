"""The prose follows the data: verdicts chosen from ideal, disturbed and noisy runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pytest import MonkeyPatch

from gilbook import runner
from gilbook.interpreters import Interpreter
from gilbook.runner import Run
from gilbook.verdicts import (
    above_one_note,
    beyond_cores_verdict,
    parallel_verdict,
    stretch_verdict,
)

MACHINE = {"cpu_model": "Test CPU", "logical_cores": 2, "usable_cores": 2, "start_method": "fork"}
INTERPRETER = Interpreter("python", "python", "CPython", "3.13.5", False, True, "", MACHINE, "")
ROUNDS = 5
PROCESSES = "two processes, each with its own GIL,"


def run_with(capacity: float, speedups: dict[str, float], baseline: float = 0.1) -> Run:
    """A run of the CPU example whose every round gave these speedups and this capacity."""

    def timing(variant: str, workers: int, seconds: float) -> dict[str, object]:
        times = [seconds] * ROUNDS
        spread = {"median": seconds, "min": seconds, "max": seconds}
        return {"variant": variant, "label": variant.replace("-", " "), "workers": workers,
                "seconds": times, **spread}  # fmt: skip

    timings = [timing("sequential", 1, baseline)] + [
        timing(name, int(name.split("-")[1]), baseline / speedup)
        for name, speedup in speedups.items()
    ]
    document = {
        "gil_enabled": True,
        "baseline": "sequential",
        "interleaved": True,
        "parameters": {"repeats": ROUNDS, "quick": False},
        "timings": timings,
        "capacity": {
            "cores": 2,
            "seconds": [capacity] * ROUNDS,
            "median": capacity,
            "min": capacity,
            "max": capacity,
        },
    }
    return Run(INTERPRETER, json.dumps(document), "2026-11-25T00:00:00Z")


def test_an_ideal_machine_shows_processes_running_at_once() -> None:
    run = run_with(2.0, {"processes-2": 1.96, "processes-4": 1.94})
    verdict = parallel_verdict(run, "processes-2", PROCESSES)
    assert "really do execute Python at the same time" in verdict
    assert "1.96×" in verdict and "0.98" in verdict
    assert "gained nothing over" in beyond_cores_verdict(run, "processes-2", "processes-4", 2)


def test_a_machine_without_a_free_second_core_is_named_not_hidden() -> None:
    run = run_with(1.02, {"processes-2": 0.99, "processes-4": 0.98})
    assert run.short_of_cores
    verdict = parallel_verdict(run, "processes-2", PROCESSES)
    assert "really do execute Python at the same time" not in verdict
    assert "had no second core to use" in verdict and "1.02 cores' worth" in verdict


def test_a_speedup_above_a_low_capacity_is_not_called_no_second_core() -> None:
    run = run_with(1.16, {"processes-2": 1.35})
    verdict = parallel_verdict(run, "processes-2", PROCESSES)
    assert "had no second core" not in verdict and "really do" not in verdict
    assert "got part of a second core" in verdict and "1.35×" in verdict


def test_capacity_without_speedup_says_the_gain_went_elsewhere() -> None:
    run = run_with(1.95, {"processes-2": 1.0})
    verdict = parallel_verdict(run, "processes-2", PROCESSES)
    assert "really do" not in verdict
    assert "showed no sign of running at the same time" in verdict


def test_no_more_than_one_worker_can_gain_is_not_parallelism() -> None:
    # A kitchen where one cook overlapping the bake already gains 1.29x.
    run = run_with(1.35, {"processes-3": 1.29})
    verdict = parallel_verdict(run, "processes-3", PROCESSES, alone=1.286)
    assert "really do" not in verdict and "no sign of running at the same time" in verdict


def test_more_workers_than_cores_cannot_be_faster_without_saying_why() -> None:
    run = run_with(2.0, {"processes-2": 1.5, "processes-4": 1.9})
    assert "capacity changed during the run" in beyond_cores_verdict(
        run, "processes-2", "processes-4", 2
    )


def test_an_efficiency_above_one_is_explained_by_the_measured_spread() -> None:
    run = run_with(1.8, {"threads-2": 1.9})
    assert (run.efficiency("threads-2") or 0) > 1
    note = above_one_note(run, ["threads-2"])
    assert "above an efficiency of 1" in note and "spread" in note
    assert above_one_note(run_with(2.0, {"threads-2": 1.9}), ["threads-2"]) == ""


def test_an_efficiency_above_one_is_explained_by_one_worker_running_faster() -> None:
    run = run_with(1.8, {"threads-1": 1.06, "threads-2": 1.9})
    note = above_one_note(run, ["threads-2"])
    assert "threads 1 alone ran 1.06× as fast as the main thread" in note
    assert "spread" not in note


def kitchen_run(step_seconds: float, capacity: float) -> Run:
    """A kitchen run whose workers' steps took `step_seconds` against 0.1 s sequentially."""
    run = run_with(capacity, {"processes-3": 1.5})

    def step(name: str, worker: str, seconds: float) -> dict[str, object]:
        return {"step": name, "kind": "work", "worker": worker, "start": 0.0, "end": seconds}

    steps = ("whisk eggs", "whip cream", "cut fruit")
    run.data["timelines"] = {
        "sequential": [step(s, "main thread", 0.1) for s in ("get ingredients", *steps)],
        "processes-3": [step("get ingredients", "main thread", 0.1)]
        + [step(s, f"process {i}", step_seconds) for i, s in enumerate(steps)],
    }
    return run


def test_steps_that_kept_their_length_are_credited_to_free_cores() -> None:
    verdict = stretch_verdict(kitchen_run(0.104, 3.0), "processes-3", "three processes")
    assert "kept their length" in verdict


def test_stretched_steps_are_explained_by_the_capacity_they_shared() -> None:
    verdict = stretch_verdict(kitchen_run(0.15, 1.9), "processes-3", "three processes")
    assert "took 1.50 times as long" in verdict and "1.90 cores' worth" in verdict
    assert "to themselves" not in verdict


def test_stretched_steps_with_cores_to_spare_are_not_blamed_on_turns() -> None:
    verdict = stretch_verdict(kitchen_run(0.15, 15.8), "processes-3", "three processes")
    assert "took turns" not in verdict and "ran slower" in verdict


def test_an_efficiency_that_reads_one_is_not_called_above_one() -> None:
    run = run_with(1.8, {"threads-1": 1.003, "threads-2": 1.805})
    assert 1 < (run.efficiency("threads-2") or 0) < 1.005
    assert above_one_note(run, ["threads-2"]) == ""
    tiny_head_start = run_with(1.8, {"threads-1": 1.003, "threads-2": 1.9})
    note = above_one_note(tiny_head_start, ["threads-2"])
    assert "spread" in note and "alone ran" not in note


def test_only_a_run_that_measured_a_low_capacity_is_run_again(monkeypatch: MonkeyPatch) -> None:
    """After a page's run with a good capacity, a run without any is kept as it is, and a
    run whose capacity fell well short is tried again a bounded number of times."""
    monkeypatch.setattr(runner, "_best_capacity", 2.0)
    for made, expected in (
        (lambda: no_capacity(), 1),
        (lambda: run_with(0.5, {}), 1 + runner.RETRIES),
    ):
        calls: list[int] = []

        def once(*_: object, made: Callable[[], Run] = made, calls: list[int] = calls) -> Run:
            calls.append(1)
            return made()

        monkeypatch.setattr(runner, "run_once", once)
        runner.least_disturbed(Path("x.py"), INTERPRETER, False, 1.0)
        assert len(calls) == expected


def no_capacity() -> Run:
    run = run_with(2.0, {})
    del run.data["capacity"]
    return run
