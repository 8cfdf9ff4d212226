"""What the build records about an interpreter and the machine it runs on.

The build runs this file as a script under every interpreter it finds, once per
build, and merges what it prints into the results of every example run under
that interpreter: the examples themselves carry none of it. It must run on
every interpreter the book measures (CPython 3.9 and later, PyPy), so it uses
the standard library and Python 3.9 syntax only.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import sysconfig
from typing import Any


def describe() -> dict[str, Any]:
    """This interpreter, how it was built, and the machine it runs on."""
    gil_check = getattr(sys, "_is_gil_enabled", None)
    try:
        import multiprocessing

        start_method = multiprocessing.get_start_method()
    except (ImportError, RuntimeError):
        start_method = None
    try:
        usable_cores: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        usable_cores = os.cpu_count()
    return {
        "executable": sys.executable,
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": gil_check() if gil_check else True,
        "optimizations": optimizations(),
        "machine": {
            "cpu_model": cpu_model(),
            "logical_cores": os.cpu_count(),
            "usable_cores": usable_cores,
            "os": platform.platform(),
            "start_method": start_method,
        },
    }


def optimizations() -> str:
    """How CPython was compiled, where that changes its speed: "PGO and LTO", "none"...

    Profile-guided optimisation (``--enable-optimizations``) and link-time
    optimisation (``--with-lto``) make CPython noticeably faster; distributions
    use both, a plain ``./configure`` neither. Empty for other implementations.
    """
    if platform.python_implementation() != "CPython":
        return ""
    args = sysconfig.get_config_var("CONFIG_ARGS")
    if args is None:  # Windows builds do not record their configure arguments
        return "unknown"
    used = [
        name
        for name, flag in (("PGO", "--enable-optimizations"), ("LTO", "--with-lto"))
        if flag in args
    ]
    return " and ".join(used) or "none"


def cpu_model() -> str:
    """The processor's marketing name, as the operating system reports it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("model name", "Hardware", "Model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        import subprocess

        query = ["sysctl", "-n", "machdep.cpu.brand_string"]
        return subprocess.run(query, capture_output=True, text=True, check=False).stdout.strip()
    return platform.processor() or platform.machine() or "unknown"


if __name__ == "__main__":
    json.dump(describe(), sys.stdout)
