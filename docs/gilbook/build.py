"""The one sphinx-build command line, shared by noxfile.py and the tests.

Standard library only: noxfile.py imports it before any dependency is installed.
"""

from __future__ import annotations

from pathlib import Path


def sphinx_build_args(root: Path, build: Path, *, fresh: bool = False) -> list[str]:
    """Arguments for ``sphinx-build`` to build the book at `root` into `build`/html."""
    return [
        "-b", "html",
        "-c", str(root),  # conf.py lives at the root...
        "-d", str(build / "doctrees"),
        "-W",  # every warning is an error,
        "--keep-going",  # but report all of them before failing
        "-n",  # and check every cross-reference
        *(["-E"] if fresh else []),  # re-read every page
        str(root / "docs"),  # ...the pages live in docs/
        str(build / "html"),
    ]  # fmt: skip
