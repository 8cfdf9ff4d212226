"""A C loop that releases the GIL runs in parallel in threads; the same loop holding it does not.

The script writes a tiny C extension module, compiles it in a temporary folder
with the C compiler and the flags that this Python was built with (found
through ``sysconfig``), and imports it. The module has two functions that run
the same pure C loop: ``spin_holding`` keeps the GIL while it runs,
``spin_released`` releases it around the loop with ``Py_BEGIN_ALLOW_THREADS``
and ``Py_END_ALLOW_THREADS``, as Cython's ``with nogil:`` block does (it calls
``PyEval_SaveThread()`` and ``PyEval_RestoreThread()``, as these macros do). The job is split between 2 threads (and more, where the machine
has more cores) and timed against running it all in the main thread. Every
round also measures how many cores' worth of the same C loop the machine
really ran at once in separate processes (its capacity), so that a busy
machine shows as one.

Where this Python is not CPython, or has no C compiler or no header files,
the script says so and measures nothing.

Run it::

    python nogil_extension.py            # about 3 seconds on 2 cores
    python nogil_extension.py --quick    # a second or two, compiling included
    python nogil_extension.py --json     # machine-readable results
    python nogil_extension.py --threads 2 4 8 --repeats 31

Standard library only (and a C compiler).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

CLAIM = (
    "A C function that releases the GIL around its loop runs in parallel in threads; "
    "the same loop holding the GIL does not."
)
MODULE = "_nogil_demo"

# The extension module. The loop steps a xorshift random-number generator: plain C
# that touches no Python object, so it may run without the GIL, and whose result
# depends on every step, so the compiler cannot skip any.
C_SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static unsigned long long
spin(unsigned long long steps)
{
    unsigned long long x = 88172645463325252ULL;
    for (unsigned long long i = 0; i < steps; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

/* The two functions the threads call. */
static PyObject *
spin_holding(PyObject *module, PyObject *arg)
{
    unsigned long long steps = PyLong_AsUnsignedLongLong(arg);
    if (steps == (unsigned long long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    unsigned long long x = spin(steps);      /* the GIL stays held throughout */
    return PyLong_FromUnsignedLongLong(x);
}

static PyObject *
spin_released(PyObject *module, PyObject *arg)
{
    unsigned long long steps = PyLong_AsUnsignedLongLong(arg);
    unsigned long long x;
    if (steps == (unsigned long long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS                   /* release the GIL ...              */
    x = spin(steps);                         /* ... touch no Python object ...   */
    Py_END_ALLOW_THREADS                     /* ... and take the GIL back        */
    return PyLong_FromUnsignedLongLong(x);
}
/* End of the two functions. */

static PyMethodDef methods[] = {
    {"spin_holding", spin_holding, METH_O, "Step the generator, holding the GIL."},
    {"spin_released", spin_released, METH_O, "Step the generator with the GIL released."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
#ifdef Py_mod_multiple_interpreters
    /* Python 3.12+: no global state, so it may be imported by interpreters
       that each have a GIL of their own. */
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_mod_gil
    /* Python 3.13+: safe without the GIL. Without this slot, importing the
       module switches the GIL back on in a free-threaded build. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_nogil_demo", NULL, 0, methods, slots,
};

PyMODINIT_FUNC
PyInit__nogil_demo(void)
{
    return PyModuleDef_Init(&module_def);
}
"""


class CannotBuild(Exception):
    """The extension cannot be compiled here; the message says why, in one sentence."""


def config(name: str) -> str:
    return str(sysconfig.get_config_var(name) or "")


def compile_extension(folder: Path) -> Path:
    """Compile the module in `folder` as this Python's own build would, and return its path.

    The compiler (CC), the flags for shared code (CFLAGS, CCSHARED), the
    linker (LDSHARED), the header folder and the file name suffix (EXT_SUFFIX,
    such as .cpython-313t-x86_64-linux-gnu.so) all come from ``sysconfig``,
    which records how this interpreter was built.
    """
    if platform.python_implementation() != "CPython":
        raise CannotBuild(
            f"{platform.python_implementation()} is not CPython: its C API is an emulation, "
            "and what the GIL does around C code there is its own matter."
        )
    compiler, linker, suffix = config("CC"), config("LDSHARED"), config("EXT_SUFFIX")
    include = Path(sysconfig.get_paths()["include"])
    if not (compiler and linker and suffix):
        raise CannotBuild(
            "this Python does not record the compiler it was built with (as on Windows), "
            "so this script cannot compile an extension for it; setuptools can."
        )
    if shutil.which(shlex.split(compiler)[0]) is None:
        raise CannotBuild(f"no C compiler: {shlex.split(compiler)[0]} is not installed.")
    if not (include / "Python.h").is_file():
        raise CannotBuild(f"no Python.h in {include}: install this Python's development headers.")
    source, objects = folder / f"{MODULE}.c", folder / f"{MODULE}.o"
    target = folder / f"{MODULE}{suffix}"
    source.write_text(C_SOURCE, encoding="utf-8")
    flags = shlex.split(config("CFLAGS")) + shlex.split(config("CCSHARED"))
    steps = [
        [
            *shlex.split(compiler),
            *flags,
            "-O2",
            f"-I{include}",
            "-c",
            str(source),
            "-o",
            str(objects),
        ],
        [*shlex.split(linker), str(objects), "-o", str(target)],
    ]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["no message"])[0]
            raise CannotBuild(f"the compiler failed: {first}")
    return target


def load(path: Path) -> ModuleType:
    """Import the compiled module from `path`."""
    spec = importlib.util.spec_from_file_location(MODULE, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_spin: Callable[[int], Any] | None = None  # the C loop, in each process of the capacity probe


def attach(path: str) -> None:
    """Load the compiled module in a process of the capacity probe."""
    global _spin
    _spin = load(Path(path)).spin_released


def spin_in_process(steps: int) -> Any:
    assert _spin is not None
    return _spin(steps)


def size_job(function: Callable[[int], Any], seconds: float) -> int:
    """How many steps of `function` take about `seconds` here."""
    steps = 10_000
    while True:
        start = time.perf_counter()
        function(steps)
        elapsed = time.perf_counter() - start
        if elapsed >= 0.02:
            return int(float(f"{steps * seconds / elapsed:.2g}"))
        steps *= 4


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        return os.cpu_count() or 1


def time_call(function: Callable[[int], Any], steps: int) -> float:
    start = time.perf_counter()
    function(steps)
    return time.perf_counter() - start


def time_threads(pool: Executor, function: Callable[[int], Any], steps: int, n: int) -> float:
    """Seconds for `n` threads to run an equal share of the steps each."""
    start = time.perf_counter()
    list(pool.map(function, [steps // n] * n))
    return time.perf_counter() - start


def time_capacity(pool: Executor, steps: int, cores: int) -> float:
    """How many cores' worth of the C loop the machine ran at once, just now.

    One process runs the loop, then `cores` processes each run as many steps at
    the same time: with every core free, both take as long and the result is
    `cores`. Processes share no lock at all, so this is what the machine
    itself delivered in this round, to this very loop: C code and
    interpreter-bound Python code can get different shares of a busy machine.
    """
    start = time.perf_counter()
    pool.submit(spin_in_process, steps).result()
    one = time.perf_counter() - start
    start = time.perf_counter()
    list(pool.map(spin_in_process, [steps] * cores))
    return cores * one / (time.perf_counter() - start)


def summarise(variant: str, label: str, seconds: list[float], workers: int) -> dict[str, Any]:
    return {
        "variant": variant,
        "label": label,
        "workers": workers,
        "seconds": seconds,
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
    }


def measure(
    module: ModuleType, path: Path, steps: int, threads: list[int], repeats: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time every variant once per round, `repeats` rounds, after one untimed run each.

    The process pool for the capacity probe is started first, while the main
    thread is the only thread (forking a process that runs threads can
    deadlock the child); the thread pools are started before the clock.
    """
    cores = usable_cores()
    labels = {"sequential": "main thread, holding the GIL"}
    counts = {"sequential": 1}
    jobs: dict[str, Callable[[], float]] = {
        "sequential": partial(time_call, module.spin_holding, steps)
    }
    with ExitStack() as stack:
        pool = ProcessPoolExecutor(cores, initializer=attach, initargs=(str(path),))
        processes = stack.enter_context(pool)
        processes.submit(spin_in_process, 1).result()  # starts every worker now
        for kind, function in (
            ("holding", module.spin_holding),
            ("released", module.spin_released),
        ):
            for n in threads:
                threads_pool = stack.enter_context(ThreadPoolExecutor(max_workers=n))
                name = f"{kind}-{n}"
                what = "holding the GIL" if kind == "holding" else "GIL released"
                labels[name] = f"{n} thread{'s' if n > 1 else ''}, {what}"
                counts[name] = n
                jobs[name] = partial(time_threads, threads_pool, function, steps, n)
        # Half the job per process: as long as each share of a 2-thread variant.
        jobs["capacity"] = partial(time_capacity, processes, steps // 2, cores)
        for job in jobs.values():
            job()  # warm-up, which also starts every thread
        results: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(repeats):
            for name, job in jobs.items():
                results[name].append(job())
    capacity = results.pop("capacity")
    timings = [summarise(name, labels[name], results[name], counts[name]) for name in results]
    return timings, {"cores": cores, **summarise("capacity", "capacity", capacity, cores)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (a second or two)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--threads", type=int, nargs="+", help="thread counts (default: 2, and the cores)"
    )
    parser.add_argument("--repeats", type=int, help="timed rounds")
    args = parser.parse_args(argv)
    if args.threads is not None and min(args.threads) < 1:
        parser.error("--threads must be at least 1")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.repeats = args.repeats or (5 if args.quick else 21)
    if args.threads is None:
        args.threads = sorted({2, min(usable_cores(), 8)})
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    python = f"{platform.python_implementation()} {platform.python_version()}"
    document: dict[str, Any] = {
        "example": "nogil_extension",
        "claim": CLAIM,
        "parameters": {"repeats": args.repeats, "quick": args.quick},
    }
    with tempfile.TemporaryDirectory(prefix="nogil-") as folder:
        start = time.perf_counter()
        try:
            path = compile_extension(Path(folder))
            module = load(path)
        except CannotBuild as why:
            module, document["build"] = None, {"compiled": False, "reason": str(why)}
        else:
            document["build"] = {
                "compiled": True,
                "compiler": config("CC"),
                "seconds": time.perf_counter() - start,
            }
        if module is not None:
            steps = size_job(module.spin_released, 0.008 if args.quick else 0.025)
            # Both functions compute the same value: releasing the GIL changes nothing else.
            same = module.spin_holding(10_001) == module.spin_released(10_001)
            timings, capacity = measure(module, path, steps, args.threads, args.repeats)
            document["parameters"].update({"steps": steps, "threads": args.threads})
            document.update(
                baseline="sequential",
                interleaved=True,  # the i-th time of every variant comes from round i
                timings=timings,
                capacity=capacity,
                same_result=same,
            )
    # Importing an extension can switch the GIL back on in a free-threaded build: ask now.
    document["gil_enabled"] = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if document["gil_enabled"] else "off"
    print(f"{python} (GIL {gil}), {usable_cores()} usable cores")
    build = document["build"]
    if not build["compiled"]:
        print(f"Nothing measured: {build['reason']}")
        return
    print(f"compiled with {build['compiler']} in {build['seconds']:.2f} s")
    print(f"job: {document['parameters']['steps']:,} steps of a C loop, {args.repeats} rounds")
    print(f"{'variant':<32}{'median':>10}{'min to max':>22}{'speedup':>10}")
    baseline = document["timings"][0]["median"]
    for row in document["timings"]:
        spread = f"{row['min'] * 1000:.1f} to {row['max'] * 1000:.1f} ms"
        speedup = baseline / row["median"]
        print(f"{row['label']:<32}{row['median'] * 1000:>8.1f}ms{spread:>22}{speedup:>9.2f}x")
    capacity = document["capacity"]
    print(f"capacity: {capacity['median']:.2f} of {capacity['cores']} cores ran the C loop at once")


if __name__ == "__main__":
    main()
