"""hashlib releases the GIL only for buffers above a size threshold (about 2 KiB).

The main thread hashes buffers of one size with sha256, one after another,
while a second thread counts in a pure-Python loop (the ticker). Below the
threshold each hash keeps the GIL, so the two threads take turns and the ticker
counts at about half its speed alone. From the threshold up, every hash releases
the GIL, the ticker runs on, and the hashing thread waits to get the GIL back:
the ticker counts at (nearly) its full speed. The script sweeps buffer sizes
across the threshold, in interleaved rounds, and reads the threshold off the
ticker's speed. Without the GIL (a free-threaded build) there is no threshold.

Run it::

    python hashlib_gil_threshold.py            # about 2 seconds
    python hashlib_gil_threshold.py --quick    # under a second
    python hashlib_gil_threshold.py --json     # machine-readable results
    python hashlib_gil_threshold.py --sizes 1024 2048 4096 --repeats 9

Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import statistics
import sys
import threading
import time
from typing import Any

CLAIM = (
    "hashlib keeps the GIL while it hashes a small buffer and releases it for a "
    "large one; the size where that changes can be read off another thread's speed."
)
SIZES = [256, 512, 1024, 1536, 2047, 2048, 2049, 3072, 4096, 8192, 16384]
QUICK_SIZES = [512, 1024, 2047, 2048, 2049, 4096, 8192]


class Ticker(threading.Thread):
    """A thread that counts in a pure-Python loop while it is not paused."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.count = 0
        self.running = threading.Event()
        self.stopped = False

    def run(self) -> None:
        while not self.stopped:
            self.running.wait()  # paused: waits without the GIL
            count = self.count
            while self.running.is_set() and not self.stopped:
                for _ in range(200):
                    count += 1
                self.count = count


def window(ticker: Ticker, size: int, seconds: float) -> dict[str, float]:
    """Let the ticker count for `seconds` while this thread hashes `size`-byte buffers
    (or sleeps, for size 0); return the ticker's and the hasher's rates."""
    data = bytes(size)
    hashed = 0
    ticker.running.set()
    time.sleep(0.001)  # let the ticker start counting
    start_count, start = ticker.count, time.perf_counter()
    end = start + seconds
    if size == 0:
        time.sleep(seconds)
    else:
        # The clock is read after every hash: above the threshold, each hash can leave
        # this thread waiting a switch interval to get the GIL back.
        while time.perf_counter() < end:
            hashlib.sha256(data).digest()
            hashed += 1
    ticks, elapsed = ticker.count - start_count, time.perf_counter() - start
    ticker.running.clear()
    return {"ticks": ticks / elapsed, "bytes": hashed * size / elapsed}


def spread(values: list[float]) -> dict[str, Any]:
    return {
        "values": values,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def read_threshold(sweep: list[dict[str, Any]]) -> dict[str, int] | None:
    """The smallest size from which on the ticker ran clearly faster than at the
    smallest size, and the size below it; None where there is no clear step."""
    shares = [row["ticker_share"]["median"] for row in sweep]
    low, high = shares[0], shares[-1]
    if high - low < 0.2:
        return None
    middle = (low + high) / 2
    for i in range(1, len(sweep)):
        if all(share > middle for share in shares[i:]) and shares[i - 1] <= middle:
            return {"last_held": sweep[i - 1]["size"], "first_released": sweep[i]["size"]}
    return None


def reported_minsize() -> int | None:
    """HASHLIB_GIL_MINSIZE as the interpreter itself reports it (a private constant, 3.14+)."""
    try:
        import _hashlib  # the OpenSSL-backed implementation
    except ImportError:
        return None
    value = getattr(_hashlib, "_GIL_MINSIZE", None)
    return value if isinstance(value, int) else None


def measure(sizes: list[int], repeats: int, seconds: float) -> list[dict[str, Any]]:
    """In each round: the ticker alone, then beside hashing at every size."""
    ticker = Ticker()
    ticker.start()
    for size in (0, *sizes):  # warm-up
        window(ticker, size, seconds / 4)
    alone: list[float] = []
    shares: dict[int, list[float]] = {size: [] for size in sizes}
    rates: dict[int, list[float]] = {size: [] for size in sizes}
    for _ in range(3 * repeats):  # a round whose ticker got no core while alone is not kept
        if len(alone) == repeats:
            break
        solo = window(ticker, 0, seconds)["ticks"]
        if solo == 0:
            continue
        alone.append(solo)
        for size in sizes:
            result = window(ticker, size, seconds)
            shares[size].append(result["ticks"] / solo)
            rates[size].append(result["bytes"] / 1e6)
    ticker.stopped = True
    ticker.running.set()
    ticker.join()
    if not alone:
        sys.exit("hashlib_gil_threshold.py: the ticker thread never ran; the machine is too busy")
    return [
        {"size": size, "ticker_share": spread(shares[size]), "hash_mb_per_s": spread(rates[size])}
        for size in sizes
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (under a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--sizes", type=int, nargs="+", help="buffer sizes in bytes")
    parser.add_argument("--repeats", type=int, help="rounds over all sizes")
    parser.add_argument("--window-ms", type=float, help="milliseconds per measurement")
    args = parser.parse_args(argv)
    if args.sizes is not None and (len(args.sizes) < 2 or min(args.sizes) < 1):
        parser.error("--sizes needs two or more sizes of at least 1 byte")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.window_ms is not None and not 1 <= args.window_ms <= 10_000:
        parser.error("--window-ms must be between 1 and 10000")
    args.sizes = sorted(set(args.sizes or (QUICK_SIZES if args.quick else SIZES)))
    args.repeats = args.repeats or (3 if args.quick else 5)
    # Several switch intervals (5 ms by default) per window, so that turns average out.
    args.window_ms = args.window_ms or (20.0 if args.quick else 25.0)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sweep = measure(args.sizes, args.repeats, args.window_ms / 1000)
    threshold = read_threshold(sweep)
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        document = {
            "example": "hashlib_gil_threshold",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {
                "window_ms": args.window_ms,
                "repeats": args.repeats,
                "quick": args.quick,
                "algorithm": "sha256",
                "switch_interval_ms": sys.getswitchinterval() * 1000,
            },
            "reported_minsize": reported_minsize(),
            "threshold": threshold,
            "sweep": sweep,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}): a Python thread's speed while another hashes with sha256")
    print(f"{'buffer':>8}{'ticker speed':>15}{'min to max':>16}{'hashing':>14}")
    for row in sweep:
        share = row["ticker_share"]
        rate = f"{row['hash_mb_per_s']['median']:.0f} MB/s"
        print(f"{row['size']:>7}B{share['median']:>14.2f}x"
              f"{share['min']:>8.2f} to {share['max']:.2f}{rate:>14}")  # fmt: skip
    if threshold:
        print(f"the GIL is released from {threshold['first_released']} bytes "
              f"(kept at {threshold['last_held']})")  # fmt: skip
    else:
        print("no threshold: the ticker's speed did not step up with the buffer size")


if __name__ == "__main__":
    main()
