"""Fetching a free-threaded CPython with uv, against a stand-in `uv` that needs no network."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gilbook import fetch
from gilbook.fetch import fetch_free_threaded_pair, fetch_wanted, newest_free_threaded_version


def download(implementation: str, version: str, variant: str = "default") -> dict[str, str]:
    """One entry of `uv python list --only-downloads --output-format json`, abridged."""
    return {"implementation": implementation, "version": version, "variant": variant}


DOWNLOADS = [
    download("cpython", "3.16.0a2"),
    download("cpython", "3.16.0a2", "freethreaded"),
    download("cpython", "3.15.2"),
    download("cpython", "3.15.2", "freethreaded"),
    download("cpython", "3.15.2", "freethreaded+debug"),
    download("cpython", "3.13.18"),
    download("cpython", "3.13.18", "freethreaded"),
    download("cpython", "3.12.16"),
    download("pypy", "3.17.1"),
]

# uv's own words on a machine without network, abridged.
OFFLINE = """\
error: Failed to install cpython-3.15.2+freethreaded-linux-x86_64-gnu
  cause: Request failed after 3 retries in 7.7s
  cause: dns error
  cause: failed to lookup address information: Name or service not known
"""

STAND_IN = """\
#!{python}
import sys, time
from pathlib import Path

here = Path(__file__).parent
args = sys.argv[1:]
with open(here / "calls.txt", "a") as calls:
    calls.write(" ".join(args) + "\\n")
if args[:2] == ["python", "list"]:
    print({downloads})
elif args[:2] == ["python", "install"]:
    if {offline!r}:
        sys.stderr.write({offline!r})
        sys.exit(2)
    time.sleep({install_seconds})
elif args[:2] == ["python", "find"]:
    print(here / ("python" + args[-1]))
else:
    sys.exit(2)
"""

needs_scripts = pytest.mark.skipif(sys.platform == "win32", reason="the stand-in uv is a script")


def stand_in_uv(directory: Path, offline: str = "", install_seconds: float = 0) -> str:
    """Write a stand-in `uv`; its `python find X` names a link to this Python."""
    script = STAND_IN.format(
        python=sys.executable,
        downloads=repr(json.dumps(DOWNLOADS)),
        offline=offline,
        install_seconds=install_seconds,
    )
    uv = directory / "uv"
    uv.write_text(script)
    uv.chmod(0o755)
    for name in ("python3.15", "python3.15t"):
        (directory / name).symlink_to(sys.executable)
    return str(uv)


def calls(directory: Path) -> list[str]:
    return (directory / "calls.txt").read_text().splitlines()


def assert_one_line_without_paths(paths: list[str], message: str) -> None:
    assert paths == []
    assert "\n" not in message
    assert "goes on without a free-threaded interpreter" in message


def test_picks_the_newest_stable_version_with_a_free_threaded_build() -> None:
    assert newest_free_threaded_version(DOWNLOADS) == "3.15"


def test_needs_both_builds_of_a_version() -> None:
    only_default = [*DOWNLOADS, download("cpython", "3.17.0")]
    assert newest_free_threaded_version(only_default) == "3.15"
    assert newest_free_threaded_version([download("cpython", "3.12.16")]) is None


@needs_scripts
def test_installs_and_returns_both_builds(tmp_path: Path) -> None:
    paths, message = fetch_free_threaded_pair(stand_in_uv(tmp_path))
    assert paths == [str(tmp_path / "python3.15"), str(tmp_path / "python3.15t")]
    assert all(Path(path).is_file() for path in paths)
    assert "\n" not in message
    assert "3.15t" in message
    assert calls(tmp_path) == [
        "python list --only-downloads --output-format json",
        "python install --no-bin 3.15 3.15t",
        "python find --managed-python --no-project 3.15",
        "python find --managed-python --no-project 3.15t",
    ]


@needs_scripts
def test_without_network_says_so_in_one_line(tmp_path: Path) -> None:
    paths, message = fetch_free_threaded_pair(stand_in_uv(tmp_path, offline=OFFLINE))
    assert_one_line_without_paths(paths, message)
    assert "Name or service not known" in message
    assert not any(call.startswith("python find") for call in calls(tmp_path))


@needs_scripts
def test_a_hanging_install_does_not_stall_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "INSTALL_TIMEOUT", 0.5)
    paths, message = fetch_free_threaded_pair(stand_in_uv(tmp_path, install_seconds=60))
    assert_one_line_without_paths(paths, message)
    assert "took more than 0.5 s" in message


def test_without_uv_says_so_in_one_line(tmp_path: Path) -> None:
    assert_one_line_without_paths(*fetch_free_threaded_pair(str(tmp_path / "no-uv")))


@pytest.mark.parametrize(
    ("posargs", "environ", "wanted"),
    [
        ([], {}, True),
        (["--fresh"], {"GILBOOK_FETCH": "1"}, True),
        (["--quick", "--no-fetch"], {}, False),
        ([], {"GILBOOK_FETCH": "0"}, False),
        ([], {"GILBOOK_FETCH": "Off"}, False),
    ],
)
def test_the_off_switch(posargs: list[str], environ: dict[str, str], wanted: bool) -> None:
    assert fetch_wanted(posargs, environ) is wanted
