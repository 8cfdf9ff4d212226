"""CPython frees most objects the moment their last reference goes, by counting references.

The script watches one object's reference count rise and fall as names,
containers and function calls take and drop references; sees a finalizer run
the instant the last reference disappears; builds a reference cycle that only
the cycle collector (``gc.collect()``) can free; measures with ``tracemalloc``
the memory a list takes and gives back; and reads the reference count of
``None``, which CPython 3.12 and later make immortal. On an interpreter without
reference counting, such as PyPy, several of these show "n/a" or "no": it frees
memory with a tracing garbage collector instead.

Run it::

    python reference_counting.py           # well under a second
    python reference_counting.py --quick   # the same: there is nothing to time
    python reference_counting.py --json    # machine-readable results

Standard library only.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import weakref
from typing import Any, Callable

CLAIM = (
    "CPython frees an object as soon as its reference count drops to zero; "
    "only reference cycles wait for the cycle collector."
)


class Tracked:
    """An object whose end we can watch."""


def no_refcount(obj: object) -> None:
    """What this script reports where an interpreter has no sys.getrefcount (PyPy)."""


# sys.getrefcount counts its own argument too: up to Python 3.13 one name gives a
# count of 2. Python 3.14 can pass a local variable on without a new reference (it
# borrows it), so its counts can be lower: read how a count changes, not its value.
refcount: Callable[[object], int | None] = getattr(sys, "getrefcount", no_refcount)


def inside_a_call(obj: object) -> int | None:
    return refcount(obj)


def counting() -> list[tuple[str, str, Any]]:
    """A reference count as names, containers and calls take references."""
    obj = Tracked()
    steps = [("new", "one name refers to it", refcount(obj))]
    other_name = obj
    steps.append(("second_name", "after a second name refers to it", refcount(obj)))
    holder = [obj, obj]
    steps.append(("in_list", "after a list holds it twice", refcount(obj)))
    steps.append(("in_call", "inside a function it was passed to", inside_a_call(obj)))
    del holder, other_name
    steps.append(("released", "after the list and second name are deleted", refcount(obj)))
    return steps


def freed_at_once() -> bool:
    """Whether the finalizer runs as soon as the last reference is deleted."""
    events: list[str] = []
    obj = Tracked()
    weakref.finalize(obj, events.append, "freed")
    del obj
    events.append("next statement")
    return events[0] == "freed"


def cycle() -> tuple[bool, bool, int | None]:
    """A pair of objects that refer to each other: freed by `del`, or only by gc.collect()?"""
    gc.collect()
    gc.disable()  # so that the collector cannot run at a random moment
    try:
        events: list[str] = []
        first, second = Tracked(), Tracked()
        first.partner, second.partner = second, first  # type: ignore[attr-defined]
        weakref.finalize(first, events.append, "freed")
        del first, second
        freed_by_del = bool(events)
        found = gc.collect()
        return freed_by_del, bool(events), found
    finally:
        gc.enable()


def traced_memory(length: int) -> tuple[int | None, int | None]:
    """Bytes that tracemalloc sees a list of `length` new ints take, and keep after del."""
    try:
        import tracemalloc
    except ImportError:
        return None, None
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        numbers = [n * 1000 for n in range(length)]
        holding = tracemalloc.get_traced_memory()[0] - before
        del numbers
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return holding, kept


def observe(length: int) -> list[dict[str, Any]]:
    """Everything the script looks at, as named observations."""
    observations = [
        {"name": f"refcount_{name}", "label": f"sys.getrefcount: {label}", "value": value}
        for name, label, value in counting()
    ]
    freed_by_del, freed_by_collect, found = cycle()
    holding, kept = traced_memory(length)
    immortal = getattr(sys, "_is_immortal", None)
    observations += [
        {"name": "freed_at_once", "label": "finalizer ran as soon as del removed the last "
         "reference", "value": freed_at_once()},
        {"name": "cycle_freed_by_del", "label": "a reference cycle was freed by del",
         "value": freed_by_del},
        {"name": "cycle_freed_by_collect", "label": "... and by gc.collect()",
         "value": freed_by_collect},
        {"name": "cycle_collected", "label": "unreachable objects gc.collect() reported",
         "value": found},
        {"name": "list_bytes", "label": f"bytes tracemalloc saw a list of {length:,} ints take",
         "value": holding},
        {"name": "list_bytes_kept", "label": "bytes still traced after del of that list",
         "value": kept},
        {"name": "refcount_none", "label": "sys.getrefcount(None)", "value": refcount(None)},
        {"name": "none_immortal", "label": "sys._is_immortal(None) (3.14 and later)",
         "value": immortal(None) if immortal else None},
    ]  # fmt: skip
    return observations


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="accepted; the run is short anyway")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    length = 100_000
    observations = observe(length)
    if args.json:
        document = {
            "example": "reference_counting",
            "claim": CLAIM,
            # asked after the observations: an import can switch the GIL back on
            "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
            "parameters": {"length": length, "quick": args.quick},
            "observations": observations,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    print(f"{platform.python_implementation()} {platform.python_version()}")
    for item in observations:
        value = "n/a" if item["value"] is None else item["value"]
        print(f"  {item['label']}: {value}")


if __name__ == "__main__":
    main()
