"""Obtain a free-threaded CPython with uv when the build has none to measure.

The `docs` and `serve` nox sessions call `fetch_free_threaded_pair` when no
interpreter they can find is free-threaded. It asks uv, offline, for the newest
stable CPython version that has a free-threaded build for this platform
(``uv python list --only-downloads``), installs both builds of it into uv's own
directory of managed Pythons (``uv python install X.Y X.Yt``), where later builds
find them again, and returns their paths. Any failure, such as no network, comes
back as one line for the log, and the book goes on with the interpreters it has.

`--no-fetch` after ``--`` on the nox command line, or ``GILBOOK_FETCH=0`` in the
environment, turns this off. Standard library only: noxfile.py imports it
before any dependency is installed.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

NO_FETCH_FLAG = "--no-fetch"
FETCH_VARIABLE = "GILBOOK_FETCH"
INSTALL_TIMEOUT = 300  # seconds: two downloads of a few tens of megabytes
QUERY_TIMEOUT = 30  # seconds: everything else runs offline

_STABLE = re.compile(r"\d+\.\d+\.\d+")  # not 3.16.0a2 or 3.15.0rc1
_GOES_ON = "the book goes on without a free-threaded interpreter"


class FetchError(Exception):
    """A step of the fetch failed; the message is one line."""


def fetch_wanted(posargs: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether to fetch: not with `--no-fetch`, nor with GILBOOK_FETCH=0 (or false, no, off)."""
    switched_off = environ.get(FETCH_VARIABLE, "").strip().lower() in {"0", "false", "no", "off"}
    return NO_FETCH_FLAG not in posargs and not switched_off


def newest_free_threaded_version(downloads: Sequence[Mapping[str, Any]]) -> str | None:
    """The newest stable ``X.Y`` with both a default and a free-threaded CPython download.

    `downloads` is what ``uv python list --only-downloads --output-format json``
    prints: one object per download, with ``implementation``, ``version`` and
    ``variant`` (``default``, ``freethreaded``, ``debug``...).
    """
    variants: dict[tuple[int, int], set[str]] = {}
    for download in downloads:
        version = str(download.get("version", ""))
        if download.get("implementation") != "cpython" or not _STABLE.fullmatch(version):
            continue
        major, minor, _ = (int(part) for part in version.split("."))
        variants.setdefault((major, minor), set()).add(str(download.get("variant")))
    pairs = [key for key, found in variants.items() if {"default", "freethreaded"} <= found]
    if not pairs:
        return None
    major, minor = max(pairs)
    return f"{major}.{minor}"


def fetch_free_threaded_pair(uv: str) -> tuple[list[str], str]:
    """Paths of uv's default and free-threaded CPython (in that order), and a line for the log.

    On any failure: no paths, and a line saying what failed.
    """
    try:
        listing = _uv(uv, "list", "--only-downloads", "--output-format", "json")
        version = newest_free_threaded_version(_downloads(listing))
        if version is None:
            raise FetchError("uv knows no stable free-threaded CPython for this platform")
        requests = [version, f"{version}t"]
        _uv(uv, "install", "--no-bin", *requests, timeout=INSTALL_TIMEOUT)
        paths = [_uv(uv, "find", "--managed-python", "--no-project", r).strip() for r in requests]
    except FetchError as error:
        return [], f"Could not fetch a free-threaded CPython with uv: {error}; {_GOES_ON}."
    missing = [path for path in paths if not Path(path).is_file()]
    if missing:
        return [], f"uv named an interpreter that does not exist: {missing[0]}; {_GOES_ON}."
    return paths, f"Measuring CPython {version} and {version}t from uv as well: {', '.join(paths)}"


def _uv(uv: str, *args: str, timeout: float = QUERY_TIMEOUT) -> str:
    """Run ``uv python ARGS`` and return its output; raise FetchError with one line."""
    command = [uv, "python", *args]
    step = f"`uv python {args[0]}`"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise FetchError(f"{step} took more than {timeout:g} s") from None
    except OSError as error:
        raise FetchError(f"could not run {uv}: {error.strerror or error}") from None
    if done.returncode != 0:
        raise FetchError(f"{step} failed: {_summary(done.stderr, done.returncode)}")
    return done.stdout


def _summary(stderr: str, returncode: int) -> str:
    """uv's first error line and its last cause, as one line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return f"exit status {returncode}"
    first = lines[0].removeprefix("error:").strip()
    last = lines[-1].removeprefix("cause:").strip()
    return first if len(lines) == 1 else f"{first} ({last})"


def _downloads(listing: str) -> list[Mapping[str, Any]]:
    """The list that ``uv python list --output-format json`` prints."""
    try:
        downloads = json.loads(listing)
    except json.JSONDecodeError:
        raise FetchError("`uv python list` did not print JSON") from None
    if not isinstance(downloads, list):
        raise FetchError("`uv python list` did not print a list")
    return [download for download in downloads if isinstance(download, dict)]
