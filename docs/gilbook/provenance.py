"""The block that every example carries: provenance, and one-line argument errors.

Examples must stay standalone, so each one carries a verbatim copy of the block
between the markers below; this file is the master copy. `tests/test_examples.py`
fails when a copy drifts from it.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import sysconfig
from datetime import datetime, timezone
from typing import Any, NoReturn


# --- provenance and argument errors: the same block in every example ---
def provenance() -> dict[str, Any]:
    """Where and how these numbers were measured."""
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
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "executable": sys.executable,
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": gil_check() if gil_check else True,
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores,
        "os": platform.platform(),
        "start_method": start_method,
        "timestamp_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


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


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser that reports a bad argument in one line, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# --- end of the shared block ---
