"""One more thread costs little; one more process costs far more, most with spawn.

For a thread, a subinterpreter (where this Python has them) and a process under
each start method available (fork, forkserver, spawn), the script measures

1. start-up: from asking for one more worker to its first result, and to the
   end of join(), in interleaved rounds after a warm-up start reported apart
   (the forkserver's first child also waits for the server to start). Each
   child says whether it ran this script's top level again itself: a spawned
   one does, a forked one does not, nor should a forkserver's;
2. memory, from Linux's /proc/self/smaps_rollup: a new child's resident set
   (RSS, every page it maps that is in memory) and unique set (USS, the pages
   no other process shares); for threads and subinterpreters, this process's
   growth per worker;
3. copy-on-write: a forked child adds up a list of floats that its parent
   built. Nothing writes to the list, but reading an object writes its
   reference count, so the child ends up owning the pages of the floats.

Elsewhere than on Linux the memory is reported as not measured.

Run it::

    python worker_costs.py            # about 2 seconds
    python worker_costs.py --quick    # about a second
    python worker_costs.py --json     # every measurement
    python worker_costs.py --repeats 15 --threads 100

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import queue
import statistics
import sys
import threading
import time
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, Callable, Optional

CLAIM = (
    "A thread starts in microseconds and adds little memory; a process takes "
    "milliseconds, spawn the longest, and a forked child shares its parent's pages "
    "only until reference counting writes to them."
)
METHODS = ("fork", "forkserver", "spawn")
Memory = Optional[dict[str, float]]
IMPORTED_BY = os.getpid()  # the process that ran this file's top level


def memory() -> Memory:
    """This process's resident (RSS) and unique (USS) memory in KiB, where Linux reports it."""
    try:
        with open("/proc/self/smaps_rollup") as rollup:
            lines = [line.split() for line in rollup]
        kib = {f[0].rstrip(":"): int(f[1]) for f in lines if len(f) == 3 and f[2] == "kB"}
        return {"rss_kib": kib["Rss"], "uss_kib": kib["Private_Clean"] + kib["Private_Dirty"]}
    except (OSError, KeyError):
        return None


class Subinterpreters:
    """Create an interpreter, run code in it (in this thread) and destroy it, with the
    API this Python has: `name` is None where it has none."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.module: Any = None
        try:  # Python 3.14 and later: the public API of PEP 734
            from concurrent import interpreters  # type: ignore[attr-defined]

            self.name, self.module = "concurrent.interpreters", interpreters
            return
        except ImportError:
            pass
        for private in ("_interpreters", "_xxsubinterpreters"):  # 3.13; 3.12 and older
            try:
                self.module, self.name = __import__(private), f"{private} (private)"
                return
            except ImportError:
                continue

    def create(self) -> Any:
        return self.module.create()

    def run(self, interpreter: Any, source: str) -> None:
        if self.name == "concurrent.interpreters":
            interpreter.exec(source)
        elif self.name == "_interpreters (private)":
            failure = self.module.exec(interpreter, source)  # returns what it raised
            if failure is not None:
                raise RuntimeError(f"in a subinterpreter: {failure.formatted}")
        else:
            self.module.run_string(interpreter, source)

    def destroy(self, interpreter: Any) -> None:
        if self.name == "concurrent.interpreters":
            interpreter.close()
        else:
            self.module.destroy(interpreter)


def answer(conn: Connection) -> None:
    """A child process's first and only job: send a result back."""
    conn.send(1)


def send_memory(conn: Connection) -> None:
    """Send this child's memory, and whether it imported this script again itself."""
    conn.send((memory(), os.getpid() == IMPORTED_BY))


def add_up(data: list[float], conn: Connection) -> None:
    """In a forked child: add up the parent's list, measuring this process before and after."""
    before = memory()
    sum(data)  # writes nothing to the list, but to each float's reference count
    conn.send((before, memory()))


def timed_child(context: Any) -> tuple[float, float]:
    return in_child(context, answer)[1:]


def in_child(context: Any, target: Callable[..., None], *args: Any) -> tuple[Any, float, float]:
    """Start a process running target(*args, conn): the first thing it sent, the seconds
    until it arrived, and the seconds until the process had ended and been joined."""
    receive, send = context.Pipe(duplex=False)
    start = time.perf_counter()
    process = context.Process(target=target, args=(*args, send))
    process.start()
    result = receive.recv()
    first = time.perf_counter() - start
    process.join()
    whole = time.perf_counter() - start
    receive.close()
    send.close()
    return result, first, whole


def start_thread() -> tuple[float, float]:
    results: queue.SimpleQueue[int] = queue.SimpleQueue()
    start = time.perf_counter()
    thread = threading.Thread(target=results.put, args=(1,))
    thread.start()
    results.get()
    first = time.perf_counter() - start
    thread.join()
    return first, time.perf_counter() - start


def start_interpreter(api: Subinterpreters) -> tuple[float, float]:
    start = time.perf_counter()
    interpreter = api.create()
    api.run(interpreter, "result = 1")
    first = time.perf_counter() - start
    api.destroy(interpreter)
    return first, time.perf_counter() - start


def spread(values: list[float]) -> dict[str, Any]:
    median = statistics.median(values)
    return {"seconds": values, "median": median, "min": min(values), "max": max(values)}


def ways(api: Subinterpreters) -> dict[str, tuple[str, Callable[[], tuple[float, float]]]]:
    """Every way of getting one more worker that this Python offers, processes first:
    forking while another thread is still running could deadlock the child."""
    found: dict[str, tuple[str, Callable[[], tuple[float, float]]]] = {}
    available = multiprocessing.get_all_start_methods()
    for method in (m for m in METHODS if m in available):
        context = multiprocessing.get_context(method)
        found[f"process-{method}"] = (f"a process ({method})", partial(timed_child, context))
    if api.name:
        found["interpreter"] = ("a subinterpreter", lambda: start_interpreter(api))
    found["thread"] = ("a thread", start_thread)
    return found


def measure_startup(
    api: Subinterpreters, repeats: int
) -> tuple[list[dict[str, Any]], dict[str, Memory]]:
    """Start each way `repeats` times in interleaved rounds, after a warm-up start whose
    time to its first result is kept apart; a child process started for the warm-up
    reports its memory, which adds a little to that time."""
    starts = ways(api)
    cold: dict[str, float] = {}
    children: dict[str, Memory] = {}
    imported: dict[str, bool] = {}
    for name, (_, job) in starts.items():
        if name.startswith("process-"):
            context = multiprocessing.get_context(name.removeprefix("process-"))
            (children[name], imported[name]), cold[name], _ = in_child(context, send_memory)
        else:
            cold[name] = job()[0]
    first: dict[str, list[float]] = {name: [] for name in starts}
    whole: dict[str, list[float]] = {name: [] for name in starts}
    for _ in range(repeats):
        for name, (_, job) in starts.items():
            to_first, to_join = job()
            first[name].append(to_first)
            whole[name].append(to_join)
    order = ["thread", "interpreter", *(f"process-{m}" for m in METHODS)]
    timings = [
        {
            "variant": n,
            "label": starts[n][0],
            **spread(first[n]),
            "joined": spread(whole[n]),
            "cold": cold[n],
            "imports_script": imported.get(n, False),
        }
        for n in order
        if n in starts
    ]
    return timings, children


def grown(before: Memory, after: Memory, count: int) -> Memory:
    if before is None or after is None:
        return None
    return {key: (after[key] - before[key]) / count for key in before}


def interpreter_memory(api: Subinterpreters, count: int) -> dict[str, Any]:
    """This process's growth per idle subinterpreter, measured before any other
    interpreter ran here, so that no memory freed by one is waiting for reuse."""
    before = memory()
    made = [api.create() for _ in range(count)]
    for interpreter in made:
        api.run(interpreter, "pass")
    after = memory()
    for interpreter in made:
        api.destroy(interpreter)
    label = f"per subinterpreter ({count} idle)"
    return {"variant": "interpreter", "label": label, **(grown(before, after, count) or {})}


def thread_memory(count: int) -> dict[str, Any]:
    """This process's growth per idle thread. Measured last: forking while threads
    run could deadlock the child."""
    release, before, waiting = threading.Event(), memory(), []
    for _ in range(count):
        waiting.append(threading.Thread(target=release.wait))
        waiting[-1].start()
    after = memory()
    release.set()
    for thread in waiting:
        thread.join()
    label = f"per thread ({count} idle)"
    return {"variant": "thread", "label": label, **(grown(before, after, count) or {})}


def copy_on_write(items: int) -> dict[str, Any] | None:
    """A forked child's memory before and after it adds up `items` floats of the parent's."""
    if "fork" not in multiprocessing.get_all_start_methods() or memory() is None:
        return None
    data = [float(i) for i in range(items)]  # floats are neither immortal nor shared
    (before, after), _, _ = in_child(multiprocessing.get_context("fork"), add_up, data)
    return {
        "items": items,
        "floats_kib": sum(map(sys.getsizeof, data)) / 1024,
        "before": before,
        "after": after,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--repeats", type=int, help="timed starts of each way")
    parser.add_argument("--threads", type=int, help="idle threads for the memory per thread")
    parser.add_argument("--items", type=int, help="floats in the list a forked child reads")
    args = parser.parse_args(argv)
    for option in ("repeats", "threads", "items"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    args.repeats = args.repeats or (2 if args.quick else 5)
    args.threads = args.threads or (20 if args.quick else 50)
    args.interpreters = 1 if args.quick else 3
    args.items = args.items or (100_000 if args.quick else 400_000)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    api = Subinterpreters()
    parent = memory()
    rows = [{"variant": "parent", "label": "this process, at its start", **(parent or {})}]
    per_interpreter = interpreter_memory(api, args.interpreters) if api.name else None
    timings, children = measure_startup(api, args.repeats)
    for name, child in children.items():
        label = f"a child ({name.removeprefix('process-')})"
        rows.append({"variant": name, "label": label, **(child or {})})
    cow = copy_on_write(args.items)
    rows += [row for row in (per_interpreter, thread_memory(args.threads)) if row]
    # Importing a module can switch the GIL back on in a free-threaded build: ask now.
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    available = [m for m in METHODS if m in multiprocessing.get_all_start_methods()]
    unavailable = {
        f"process-{m}": f"no {m} start method here" for m in METHODS if m not in available
    }
    if not api.name:
        unavailable["interpreter"] = "no subinterpreters in this Python"
    if parent is None:
        unavailable["memory"] = "no /proc/self/smaps_rollup to read"
    if args.json:
        document = {
            "example": "worker_costs",
            "claim": CLAIM,
            "gil_enabled": gil_enabled,
            "parameters": {
                "repeats": args.repeats,
                "threads": args.threads,
                "interpreters": args.interpreters,
                "items": args.items,
                "quick": args.quick,
            },
            "default_start_method": multiprocessing.get_start_method(),
            "subinterpreters": api.name,
            "unavailable": unavailable,
            "baseline": "thread",
            "interleaved": True,
            "timings": timings,
            "memory": rows if parent else [],
            "copy_on_write": cow,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    gil = "on" if gil_enabled else "off"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} (GIL {gil}), median of {args.repeats} starts to the first result:")
    for t in timings:
        print(
            f"  {t['label']:<24}{t['median'] * 1000:>9.2f} ms (first ever {t['cold'] * 1000:.1f})"
        )
    if parent is None:
        print("memory: not measured (no /proc/self/smaps_rollup to read)")
        return
    print("memory in KiB:")
    for row in rows:
        print(f"  {row['label']:<30} RSS {row['rss_kib']:>9,.0f}  USS {row['uss_kib']:>9,.0f}")
    if cow:
        grew = cow["after"]["uss_kib"] - cow["before"]["uss_kib"]
        print(
            f"reading {cow['items']:,} floats ({cow['floats_kib']:,.0f} KiB) grew a fork by {grew:,.0f}"
        )


if __name__ == "__main__":
    main()
