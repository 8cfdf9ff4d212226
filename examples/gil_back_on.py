"""Importing an extension module that has not declared free-threading support turns
the GIL back on in a free-threaded CPython, for every thread of that interpreter, for
good.

The script compiles two tiny C extension modules in a temporary folder with the
C compiler this Python was built with: one declares, with the ``Py_mod_gil``
slot, that it can run without the GIL; the other declares nothing. A fresh
interpreter then imports them one after the other and reports, after each step,
``sys._is_gil_enabled()``, any warning, and how much faster two threads run a
pure-Python loop than one. Four more interpreters show what the ``PYTHON_GIL``
environment variable and the ``-X gil`` option change.

Run it::

    python gil_back_on.py            # a few seconds, compiling included
    python gil_back_on.py --quick    # fewer and shorter rounds
    python gil_back_on.py --json     # machine-readable results

On a default (GIL) build, on an interpreter other than CPython, or without a C
compiler or Python's header files, it says what it could not do and why.
Standard library only.
"""

from __future__ import annotations

import argparse
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
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from string import Template
from typing import Any

CLAIM = (
    "On a free-threaded CPython, importing an extension module that has not declared "
    "that it can run without the GIL turns the GIL back on, for every thread of that "
    "interpreter, for good."
)
# The two modules, in the order they are imported, and whether each declares support.
MODULES = (("declares_no_gil", True), ("declares_nothing", False))
COMPILE_TIMEOUT = 60.0  # seconds for one compiler run
CHILD_TIMEOUT = 120.0  # seconds for one child interpreter
# The option and variable, each set to 0 and to 1, in a child that imports declares_nothing.
CONTROLS: tuple[tuple[str, list[str], dict[str, str]], ...] = (
    ("PYTHON_GIL=0", [], {"PYTHON_GIL": "0"}),
    ("PYTHON_GIL=1", [], {"PYTHON_GIL": "1"}),
    ("-X gil=0", ["-X", "gil=0"], {}),
    ("-X gil=1", ["-X", "gil=1"], {}),
)


def gil_enabled() -> bool:
    """sys._is_gil_enabled() (CPython 3.13+); an interpreter without it has its GIL on."""
    return bool(getattr(sys, "_is_gil_enabled", lambda: True)())


def c_source(name: str, declares_no_gil: bool) -> str:
    """A module with one function, set up by multi-phase initialisation (PEP 489).

    Its slots are where a module declares that it can run without the GIL;
    a module without the Py_mod_gil slot counts as needing the GIL.
    """
    template = Template(
        """\
#include <Python.h>

static PyObject *
answer(PyObject *module, PyObject *unused)
{
    return PyLong_FromLong(42);
}

static PyMethodDef methods[] = {
    {"answer", answer, METH_NOARGS, "Return 42."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
$gil_slot    {0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "$name", NULL, 0, methods, slots,
};

PyMODINIT_FUNC
PyInit_$name(void)
{
    return PyModuleDef_Init(&definition);
}
"""
    )
    gil_slot = "    {Py_mod_gil, Py_MOD_GIL_NOT_USED},\n" if declares_no_gil else ""
    return template.substitute(name=name, gil_slot=gil_slot)


def why_not() -> str | None:
    """Why this interpreter cannot show the GIL coming back, or None if it can."""
    implementation = platform.python_implementation()
    if implementation != "CPython":
        return (
            f"{implementation} is not CPython: the Py_mod_gil slot, PYTHON_GIL and -X gil "
            "belong to CPython's free-threaded build"
        )
    if sysconfig.get_config_var("Py_GIL_DISABLED") != 1:
        return "default build: the GIL is always on; nothing to turn back on"
    return None


def compile_command(source: str, target: str) -> list[str] | str:
    """The command that builds `source` into the extension module `target`, as this
    Python's own build did (sysconfig), or why there is none."""
    variables = sysconfig.get_config_vars()
    linker = shlex.split(variables.get("LDSHARED") or "")
    if not linker:
        return "no C compiler configured: sysconfig names none (on Windows, use setuptools)"
    if shutil.which(linker[0]) is None:
        return f"no C compiler found: sysconfig names {linker[0]!r}, which is not on PATH"
    include = sysconfig.get_paths()["include"]
    if not os.path.isfile(os.path.join(include, "Python.h")):
        return f"no Python headers found: {include} has no Python.h (install the -dev package)"
    flags = shlex.split(variables.get("CFLAGS") or "") + shlex.split(
        variables.get("CCSHARED") or ""
    )
    return [*linker, *flags, "-I", include, source, "-o", target]


def compile_modules(folder: str) -> dict[str, Any]:
    """Compile both modules into `folder` at the same time; what was run and how long."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    commands = []
    for name, declares in MODULES:
        source = os.path.join(folder, f"{name}.c")
        with open(source, "w", encoding="utf-8") as file:
            file.write(c_source(name, declares))
        command = compile_command(source, os.path.join(folder, name + suffix))
        if isinstance(command, str):
            return {"command": None, "seconds": None, "error": command}
        commands.append(command)
    start = time.perf_counter()
    errors = []
    running = [subprocess.Popen(c, stderr=subprocess.PIPE, text=True) for c in commands]
    for process in running:
        try:
            _, stderr = process.communicate(timeout=COMPILE_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            stderr = f"the compiler ran for more than {COMPILE_TIMEOUT:g} s"
            process.returncode = -1
        if process.returncode != 0:
            lines = stderr.strip().splitlines() or [f"exit status {process.returncode}"]
            errors.append(f"the C compiler failed: {lines[-1]}")
    shown = " ".join(shlex.quote(part) for part in commands[-1])
    error = errors[0] if errors else None
    return {"command": shown, "seconds": time.perf_counter() - start, "error": error}


def spin(steps: int) -> int:
    """The work: a pure-Python loop that never blocks, waits or calls into C."""
    total = 0
    for i in range(steps):
        total += i & 7
    return total


def run_threads(threads: int, steps: int) -> float:
    """Seconds for `threads` new threads to run `steps` loop iterations each."""
    workers = [threading.Thread(target=spin, args=(steps,)) for _ in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start


def size_steps(seconds: float) -> int:
    """How many loop iterations one thread runs in about `seconds` here (also a warm-up)."""
    steps = 20_000
    while True:
        elapsed = run_threads(1, steps)
        if elapsed >= 0.02:
            return max(1, int(float(f"{steps * seconds / elapsed:.2g}")))
        steps *= 4


def time_round_pairs(steps: int, rounds: int) -> tuple[list[float], list[float]]:
    """One thread doing all the work (2 x steps) against two threads sharing it, in
    interleaved rounds; which of the two goes first alternates from round to round."""
    one: list[float] = []
    two: list[float] = []
    for number in range(rounds):
        if number % 2:
            two.append(run_threads(2, steps))
            one.append(run_threads(1, 2 * steps))
        else:
            one.append(run_threads(1, 2 * steps))
            two.append(run_threads(2, steps))
    return one, two


def import_recording_warnings(name: str) -> str | None:
    """Import `name`; the warning it raised, as Python would print it, if any."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        __import__(name)
    return (
        "".join(
            warnings.formatwarning(w.message, w.category, w.filename, w.lineno, "").strip()
            for w in caught
        )
        or None
    )


def sequence(folder: str | None, imports: list[str], rounds: int, seconds: float) -> dict[str, Any]:
    """The GIL's state and two threads' speedup at the start and after each import."""
    if folder:
        sys.path.insert(0, folder)
    steps = size_steps(seconds) if rounds else 0
    states = [{"step": "start", "module": None, "gil_enabled": gil_enabled(), "warning": None}]
    timed = [time_round_pairs(steps, rounds)] if rounds else []
    for name in imports:
        warning = import_recording_warnings(name)
        states.append(
            {"step": name, "module": name, "gil_enabled": gil_enabled(), "warning": warning}
        )
        if rounds:
            timed.append(time_round_pairs(steps, rounds))
    return {"steps": steps, "states": states, "timed": timed}


def run_child(spec: dict[str, Any], options: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run `sequence` in a fresh interpreter (this script, --child); its result or error."""
    command = [sys.executable, *options, os.path.abspath(__file__), "--child", json.dumps(spec)]
    environment = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    try:
        done = subprocess.run(
            command,
            env={**environment, **env},
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"the interpreter ran for more than {CHILD_TIMEOUT:g} s"}
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        return {"error": next((line for line in lines if "Fatal Python error" in line), lines[-1])}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


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


def control(
    folder: str | None, name: str, options: list[str], env: dict[str, str]
) -> dict[str, Any]:
    """A child started with the option or variable, importing declares_nothing if it exists."""
    imports = [MODULES[1][0]] if folder else []
    spec = {"folder": folder, "imports": imports, "rounds": 0, "seconds": 0}
    result = run_child(spec, options, env)
    states = result.get("states", [])
    after = states[1] if len(states) > 1 else {}
    return {
        "name": name,
        "gil_at_start": states[0]["gil_enabled"] if states else None,
        "gil_after_import": after.get("gil_enabled"),
        "warned": bool(after.get("warning")) if after else None,
        "error": result.get("error"),
    }


def measure(rounds: int, seconds: float) -> dict[str, Any]:
    """Everything this interpreter can show, with the reasons for what it cannot."""
    reason = why_not()
    compiler: dict[str, Any] = {"command": None, "seconds": None, "error": reason}
    controls = []
    with tempfile.TemporaryDirectory(prefix="gil-back-on-") as folder:
        if reason is None:
            compiler = compile_modules(folder)
            reason = compiler["error"]
        imports = [name for name, _ in MODULES] if reason is None else []
        spec = {"folder": folder, "imports": imports, "rounds": rounds, "seconds": seconds}
        # A fresh interpreter imports the modules, so that this one keeps its GIL as it was.
        result = run_child(spec, [], {}) if imports else sequence(None, [], rounds, seconds)
        if "error" in result:
            sys.exit(f"gil_back_on.py: the importing interpreter failed: {result['error']}")
        if platform.python_implementation() != "CPython":
            controls = [{"name": c[0], "note": "not tried: not CPython"} for c in CONTROLS]
        elif sys.version_info < (3, 13):
            controls = [{"name": c[0], "note": "not tried: new in CPython 3.13"} for c in CONTROLS]
        else:
            modules = folder if imports else None
            with ThreadPoolExecutor(len(CONTROLS)) as pool:  # four short waits, at once
                controls = list(pool.map(lambda c: control(modules, *c), CONTROLS))
    states = result["states"]
    imported = {state["module"] for state in states}
    states += [
        {"step": name, "module": name, "gil_enabled": None, "warning": None}
        for name, _ in MODULES
        if name not in imported
    ]
    for state in states:
        done = state["gil_enabled"] is not None
        state["warned"] = bool(state["warning"]) if done else None
        state["note"] = None if done else "not imported"
    timings = []
    for state, (one, two) in zip(states, result["timed"]):
        where = "at the start" if state["module"] is None else f"after importing {state['module']}"
        timings.append(summarise(f"{state['step']}-1", f"1 thread, {where}", one, 1))
        timings.append(summarise(f"{state['step']}-2", f"2 threads, {where}", two, 2))
    return {
        "outcome": reason or "compiled both modules and imported them in a fresh interpreter",
        "compiler": compiler,
        "steps": result["steps"],
        "states": states,
        "timings": timings,
        "controls": controls,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--repeats", type=int, help="interleaved rounds per step")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # this script, as the importer
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.repeats = args.repeats or (3 if args.quick else 7)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child is not None:
        spec = json.loads(args.child)
        json.dump(
            sequence(spec["folder"], spec["imports"], spec["rounds"], spec["seconds"]), sys.stdout
        )
        return
    # Two threads' share: long enough to measure, short enough for three steps of rounds.
    seconds = 0.008 if args.quick else 0.012
    found = measure(args.repeats, seconds)
    if args.json:
        document = {
            "example": "gil_back_on",
            "claim": CLAIM,
            "gil_enabled": gil_enabled(),  # this interpreter's: a child did the imports
            "parameters": {
                "steps": found.pop("steps"),
                "repeats": args.repeats,
                "quick": args.quick,
            },
            "baseline": "start-1",
            "interleaved": True,  # the i-th times of a step's two variants share round i
            **found,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    report(found)


def yes_no(value: bool | None, yes: str, no: str) -> str:
    return "n/a" if value is None else yes if value else no


def report(found: dict[str, Any]) -> None:
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python}: {found['outcome']}")
    if found["compiler"]["seconds"] is not None:
        print(
            f"compiled in {found['compiler']['seconds']:.2f} s with: {found['compiler']['command']}"
        )
    timings = {t["variant"]: t for t in found["timings"]}
    for state in found["states"]:
        where = "at the start" if state["module"] is None else f"after importing {state['module']}"
        if state["note"]:
            print(f"{where:<36} {state['note']}")
            continue
        line = f"{where:<36} GIL {yes_no(state['gil_enabled'], 'on', 'off')}"
        one, two = timings.get(f"{state['step']}-1"), timings.get(f"{state['step']}-2")
        if one and two:
            pairs = [a / b for a, b in zip(one["seconds"], two["seconds"])]
            line += f", 2 threads {statistics.median(pairs):.2f}x as fast as 1"
            line += f" ({min(pairs):.2f} to {max(pairs):.2f})"
        print(line)
        if state["warning"]:
            print(f"    {state['warning']}")
    for entry in found["controls"]:
        if "note" in entry:
            print(f"{entry['name']:<14} {entry['note']}")
        elif entry["error"]:
            print(f"{entry['name']:<14} did not start: {entry['error']}")
        elif entry["gil_after_import"] is None:
            print(f"{entry['name']:<14} GIL {yes_no(entry['gil_at_start'], 'on', 'off')}")
        else:
            print(
                f"{entry['name']:<14} GIL {yes_no(entry['gil_at_start'], 'on', 'off')} at the "
                f"start, {yes_no(entry['gil_after_import'], 'on', 'off')} after the import, "
                f"{yes_no(entry['warned'], 'a warning', 'no warning')}"
            )


if __name__ == "__main__":
    main()
