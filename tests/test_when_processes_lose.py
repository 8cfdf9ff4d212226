"""The payload crossover and chunksize examples: their arithmetic, and robust directions only.

No test asserts a time or a speedup. What must hold on any machine, however busy:
pickling 16 MiB payloads costs a pool more than pickling small ones and more than
reading them from shared memory; sending tasks one at a time costs more than in
chunks; `Executor.map` takes every input before it returns; `Pool.map` chooses the
chunksize the example says it does.
"""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gilbook.interpreters import Interpreter
from helpers import INTERPRETERS, ROOT, interpreter_id

EXAMPLES = ROOT / "examples"
CPYTHONS = [i for i in INTERPRETERS if i.implementation == "CPython"]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_json(script: str, python: str, tmp_path: Path, *args: str) -> tuple[Any, str]:
    done = subprocess.run(
        [python, "-W", "always::DeprecationWarning", str(EXAMPLES / script), "--json", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def paired(data: dict[str, Any], top: str, bottom: str) -> float:
    """The median over rounds of `top`'s time over `bottom`'s."""
    rows = {t["variant"]: t["seconds"] for t in data["timings"]}
    return float(statistics.median(a / b for a, b in zip(rows[top], rows[bottom], strict=True)))


def test_crossover_interpolates_the_last_fall_on_log_scales() -> None:
    crossover = load("payload_crossover").crossover
    # Halfway between 1 and 4 on a log scale, where 2 falls to 0.5, is 2.
    found = crossover([1, 4, 16], [2.0, 0.5, 0.25])
    assert found["kind"] == "crossed"
    assert math.isclose(found["payload"], 2.0)
    assert (found["last_faster"], found["first_slower"]) == (1, 4)
    noisy = crossover([1, 4, 16, 64], [2.0, 0.9, 1.1, 0.5])
    assert noisy["kind"] == "crossed" and noisy["crossings"] == 3
    assert 16 < noisy["payload"] < 64
    # A fall followed by a rise back above 1 is still a crossing, the page says it ended above.
    back = crossover([1, 4, 16], [2.0, 0.5, 1.5])
    assert back["kind"] == "crossed" and back["crossings"] == 2 and 1 < back["payload"] < 4
    assert crossover([1, 4], [1.5, 1.0])["kind"] == "always faster"
    assert crossover([1, 4], [0.5, 0.9])["kind"] == "never faster"
    assert crossover([1, 4, 16], [0.5, 0.9, 1.2]) == {"kind": "rose", "payload": None,
                                                      "crossings": 1}  # fmt: skip


def test_pool_chunksize_rounds_up_four_chunks_per_worker() -> None:
    pool_chunksize = load("chunksize").pool_chunksize
    assert pool_chunksize(4000, 2) == 500
    assert pool_chunksize(4001, 2) == 501
    assert pool_chunksize(7, 2) == 1
    assert pool_chunksize(1, 4) == 1


@pytest.mark.parametrize("interpreter", CPYTHONS, ids=interpreter_id)
def test_pool_map_chooses_the_chunksize_the_example_states(
    interpreter: Interpreter, tmp_path: Path
) -> None:
    """Pool.map's own choice, read from its MapResult in a fresh process (no threads there
    to make forking unsafe), equals the example's formula."""
    check = (
        "import multiprocessing, sys\n"
        f"sys.path.insert(0, {str(EXAMPLES)!r})\n"
        "from chunksize import pool_chunksize\n"
        "if __name__ == '__main__':\n"
        "    with multiprocessing.Pool(2) as pool:\n"
        "        for n in (1, 7, 8, 9, 500, 4000, 4001):\n"
        "            result = pool.map_async(abs, range(n))\n"
        "            result.get()\n"
        "            assert result._chunksize == pool_chunksize(n, 2), (n, result._chunksize)\n"
    )
    script = tmp_path / "check_chunksize.py"
    script.write_text(check, encoding="utf-8")
    done = subprocess.run(
        [interpreter.path, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_chunks_cost_less_than_one_task_at_a_time(interpreter: Interpreter, tmp_path: Path) -> None:
    data, stderr = run_json("chunksize.py", interpreter.path, tmp_path, "--quick", "--tasks", "300")
    assert "Warning" not in stderr, stderr
    assert paired(data, "executor-1", "executor-auto") > 1
    assert paired(data, "pool-1", "pool-auto") > 1
    seen = {o["name"]: o["value"] for o in data["observations"]}
    assert seen["taken"] == seen["inputs"], "Executor.map takes every input before returning"
    if tuple(map(int, interpreter.version.split(".")[:2])) >= (3, 14):
        assert seen["taken_buffered"] <= 2 * data["parameters"]["workers"]
    else:
        assert seen["taken_buffered"] is None
    auto = next(t for t in data["timings"] if t["variant"] == "pool-auto")
    assert auto["chunksize"] == load("chunksize").pool_chunksize(
        data["parameters"]["tasks"], data["parameters"]["workers"]
    )


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=interpreter_id)
def test_large_payloads_cost_a_pickling_pool_most(interpreter: Interpreter, tmp_path: Path) -> None:
    data, stderr = run_json("payload_crossover.py", interpreter.path, tmp_path, "--quick")
    assert "Warning" not in stderr and "leaked" not in stderr, stderr
    sizes = data["sizes"]
    small, large = sizes[0], sizes[-1]
    assert large >= 64 * small, "the quick run spans a wide range of payloads"
    assert paired(data, f"processes-{large}", f"processes-{small}") > 1
    assert paired(data, f"shared-{large}", f"processes-{large}") < 1
    # Every variant at every size, and the speedups the script reports are its own data's.
    for kind, speedups in data["speedups"].items():
        assert speedups == [paired(data, f"thread-{s}", f"{kind}-{s}") for s in sizes]
    for kind, found in data["crossovers"].items():
        assert found["kind"] in {"crossed", "always faster", "never faster", "rose"}, kind
        if found["kind"] == "crossed":
            assert found["last_faster"] <= found["payload"] <= found["first_slower"]
    assert set(data["kinds"]) == {"thread", "threads", "processes", "shared"}
