"""One method call reads and writes interpreter state that every thread shares.

The script calls ``fn(box, item)``, where ``fn`` runs ``box.method(item)``, and
records what that touches: the reference counts of the object and of its
argument before the call, inside the method and after it; the bytecode of the
call site and of the method, from ``dis``, as opcode names and arguments; the
memory blocks one call takes from the allocator (``sys.getallocatedblocks()``)
and what it adds to the cycle collector's count (``gc.get_count()``); the
frames it pushes; and how the specialising interpreter rewrites the call site
after some calls. Then it lists the bytecode of a small loop and marks the
instructions at which this interpreter checks its "eval breaker", the flag that
another thread sets when it wants the GIL, from a table read from CPython's
source for each version it covers. Where an interpreter lacks a probe (PyPy has
no ``sys.getrefcount``), that observation reads "n/a".

Run it::

    python inside_a_method_call.py           # well under a second
    python inside_a_method_call.py --quick   # the same: there is nothing to time
    python inside_a_method_call.py --json    # machine-readable results

Standard library only.
"""

from __future__ import annotations

import argparse
import dis
import gc
import json
import platform
import sys
from typing import Any, Callable

CLAIM = (
    "Calling one method changes reference counts, takes memory from the allocator, "
    "counts towards the cycle collector and rewrites shared bytecode: state that every "
    "thread touches, which one lock around the interpreter keeps consistent."
)

# Where CPython's eval loop checks the "eval breaker" (the flag that a thread waiting
# for the GIL sets, as do signals and pending calls), read from CPython's source:
# - 3.11 (Python/ceval.c at tag v3.11.2): CHECK_EVAL_BREAKER() is defined at line 1349;
#   RESUME checks the flag at the start of a function and after a yield (oparg < 2, in
#   RESUME_QUICK, to which RESUME jumps, line 1784); the checks sit in JUMP_BACKWARD
#   (line 4209), the POP_JUMP_BACKWARD_IF_* jumps when they jump (lines 4012-4126),
#   CALL after calling anything but a Python function (line 4791), the specialised
#   COMPARE_OP_*_JUMP forms when they jump back (lines 3764-3851), the specialised
#   PRECALL_* forms that call C code (lines 4951-5341) and CALL_FUNCTION_EX (line 5390).
# - 3.13 (Python/bytecodes.c at tag v3.13.5; the macro is in Python/ceval_macros.h,
#   line 136): RESUME at the start of a function and after a yield (line 175;
#   RESUME_CHECK, its specialised form, hands back to RESUME when the flag is set,
#   line 187), JUMP_BACKWARD (line 2387), CALL_KW (line 3871), CALL_FUNCTION_EX
#   (line 3945), and _CHECK_PERIODIC (line 3171), the last step of CALL (line 3174)
#   and of its specialised forms that call C code.
# A call to a Python function is checked by that function's own RESUME.
EVAL_BREAKER_CHECKS: dict[tuple[int, int], tuple[str, ...]] = {
    (3, 11): (
        "RESUME",
        "JUMP_BACKWARD",
        "POP_JUMP_BACKWARD_IF_FALSE",
        "POP_JUMP_BACKWARD_IF_TRUE",
        "POP_JUMP_BACKWARD_IF_NONE",
        "POP_JUMP_BACKWARD_IF_NOT_NONE",
        "CALL",
        "CALL_FUNCTION_EX",
    ),
    (3, 13): ("RESUME", "JUMP_BACKWARD", "CALL", "CALL_KW", "CALL_FUNCTION_EX"),
}
CHECKS_MARK = "<- checks the eval breaker"


class Seen:
    """What the method saw: a new object for every call."""

    __slots__ = ("box", "item")
    box: int | None
    item: int | None


class Box:
    """An object with a method, like ``b`` in ``fn(b)`` calling ``b.method()``."""

    def method(self, item: object) -> Seen:
        """Look at both reference counts from inside the call; return them in a new object."""
        seen = Seen()
        seen.box, seen.item = refcount(self), refcount(item)
        return seen


def fn(a: Box, item: object) -> Seen:
    return a.method(item)


def no_refcount(obj: object) -> None:
    """What this script reports where an interpreter has no sys.getrefcount (PyPy)."""


# sys.getrefcount counts its own argument too; read how a count changes, not its value.
refcount: Callable[[object], int | None] = getattr(sys, "getrefcount", no_refcount)


def small_loop(n: int) -> int:
    total = 0
    for number in range(n):
        total += number
    return total


def counts_around_a_call() -> dict[str, int | None]:
    """Reference counts of the object and its argument before, inside and after fn()."""
    box, item = Box(), object()
    before = refcount(box), refcount(item)
    inside = fn(box, item)
    after = refcount(box), refcount(item)
    return {
        "box_before": before[0], "box_inside": inside.box, "box_after": after[0],
        "item_before": before[1], "item_inside": inside.item, "item_after": after[1],
    }  # fmt: skip


def blocks() -> int | None:
    """Memory blocks the interpreter's allocator has handed out (None where unknown)."""
    count = getattr(sys, "getallocatedblocks", None)
    return count() if count else None


def young_count() -> int | None:
    """The cycle collector's count of its youngest generation (None where unknown)."""
    return gc.get_count()[0] if hasattr(gc, "get_count") else None


def difference(after: int | None, before: int | None) -> int | None:
    return None if after is None or before is None else after - before


def idle(a: Box, item: object) -> None:
    """The same call shape as `fn`, but it creates nothing."""


def readings(call: Callable[[Box, object], object]) -> list[int | None]:
    """Allocator blocks and the collector's count before `call`, while its result is
    held, and after the result is deleted, with the collector paused."""
    box, item = Box(), object()
    call(box, item)  # once before, so that a first call's one-off work is not counted
    gc.collect()
    gc.disable()
    try:
        start = [blocks(), young_count()]
        result = call(box, item)
        held = [blocks(), young_count()]
        del result
        after = [blocks(), young_count()]
    finally:
        gc.enable()
    return [difference(held[0], start[0]), difference(after[0], start[0]),
            difference(held[1], start[1])]  # fmt: skip


def allocator_and_collector() -> dict[str, int | None]:
    """What one call of `fn` (which returns a new object) does to the allocator's and the
    collector's counts, less what the same readings around `idle` show: the probes
    create a few objects of their own."""
    call, control = readings(fn), readings(idle)
    net = [difference(c, i) for c, i in zip(call, control)]
    return {"blocks_held": net[0], "blocks_kept": net[1], "young_held": net[2]}


def frame_depth() -> int:
    """How many frames are on this thread's stack, this function's own included."""
    frame: Any = sys._getframe()
    depth = 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


class DepthBox(Box):
    def method(self, item: object) -> Seen:
        seen = Seen()
        seen.box = frame_depth()
        return seen


def frames_pushed() -> int:
    """Frames that fn() and the method add to the thread's stack."""
    here = frame_depth()
    inside = fn(DepthBox(), None).box
    assert inside is not None  # DepthBox.method always sets it
    return inside - here


def instructions(code: Any, adaptive: bool = False) -> list[list[Any]]:
    """The instructions of `code` as [opname, argument] pairs (dis's readable argument)."""
    found = dis.get_instructions(code, adaptive=True) if adaptive else dis.get_instructions(code)
    return [[i.opname, i.argrepr or i.arg] for i in found]


def listing(pairs: list[list[Any]], marked: tuple[str, ...] = ()) -> str:
    """Instructions as text, one a line, with the ones in `marked` pointed out."""
    lines = []
    for opname, argument in pairs:
        line = f"{opname:<30} {'' if argument is None else argument}".rstrip()
        if opname in marked:
            line = f"{line:<48} {CHECKS_MARK}"
        lines.append(line)
    return "\n".join(lines)


def specialised_call_site() -> list[list[Any]] | None:
    """The call site's instructions after a thousand calls, as the specialiser rewrote
    them (None where `dis` cannot show that: before 3.11, and on PyPy)."""
    box, item = Box(), object()
    for _ in range(1000):
        fn(box, item)
    try:
        return instructions(fn, adaptive=True) or None
    except TypeError:
        return None


def eval_breaker() -> dict[str, Any]:
    """Which instructions of `small_loop` check the eval breaker on this interpreter."""
    version = sys.version_info[:2]
    implementation = platform.python_implementation()
    checks = EVAL_BREAKER_CHECKS.get(version) if implementation == "CPython" else None
    if implementation == "PyPy":
        note = (
            "PyPy has no such loop to mark: its JIT compiles hot loops to machine code, and "
            "its GIL is released by a periodic action that runs every so many bytecodes "
            "and around calls to external functions."
        )
    elif checks is None:
        note = (
            f"This script's table has no entry for {implementation} "
            f"{version[0]}.{version[1]} (it covers CPython "
            + ", ".join(f"{major}.{minor}" for major, minor in EVAL_BREAKER_CHECKS)
            + "), so no instruction is marked."
        )
    else:
        note = f"Marked from CPython {version[0]}.{version[1]}'s source (see the table)."
    pairs = instructions(small_loop)
    return {
        "version": f"{version[0]}.{version[1]}",
        "known": checks is not None,
        "checks": list(checks or ()),
        "marked": [op for op, _ in pairs if checks and op in checks],
        "note": note,
        "listing": listing(pairs, checks or ()),
    }


def observe() -> dict[str, Any]:
    counts = counts_around_a_call()
    touched = allocator_and_collector()
    call_site = instructions(fn)
    specialised = specialised_call_site()
    rewritten = None
    if specialised is not None and len(specialised) == len(call_site):
        rewritten = [s[0] for s, c in zip(specialised, call_site) if s[0] != c[0]]
    observations = [
        {"name": f"refcount_{name}", "label": label, "value": counts[name]}
        for name, label in (
            ("box_before", "sys.getrefcount(box) before the call"),
            ("box_inside", "... inside the method (as self)"),
            ("box_after", "... after the call"),
            ("item_before", "sys.getrefcount(item) before the call"),
            ("item_inside", "... inside the method (as its argument)"),
            ("item_after", "... after the call"),
        )
    ]
    observations += [
        {"name": "frames_pushed", "label": "frames the call adds to this thread's stack",
         "value": frames_pushed()},
        {"name": "blocks_held", "label": "allocator blocks taken by one call, result held "
         "(sys.getallocatedblocks)", "value": touched["blocks_held"]},
        {"name": "blocks_kept", "label": "... still taken after the result is deleted",
         "value": touched["blocks_kept"]},
        {"name": "young_held", "label": "added to the collector's youngest count by one "
         "call (gc.get_count)", "value": touched["young_held"]},
        {"name": "specialised", "label": "call-site instructions the specialising "
         "interpreter rewrote after 1,000 calls",
         "value": None if rewritten is None else len(rewritten)},
    ]  # fmt: skip
    breaker = eval_breaker()
    return {
        "observations": observations,
        "bytecode": {
            "call_site": call_site,
            "method": instructions(Box.method),
            "call_site_specialised": specialised,
            "small_loop": instructions(small_loop),
        },
        "call_site_listing": listing(call_site),
        "method_listing": listing(instructions(Box.method)),
        "specialised_listing": "n/a" if specialised is None else listing(specialised),
        "eval_breaker": breaker,
        "loop_listing": breaker["listing"] + "\n\n" + breaker["note"],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="accepted; the run is short anyway")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    seen = observe()
    if args.json:
        document = {
            "example": "inside_a_method_call",
            "claim": CLAIM,
            # asked after the observations: an import can switch the GIL back on
            "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
            "parameters": {"quick": args.quick},
            **seen,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    print(f"{platform.python_implementation()} {platform.python_version()}")
    for item in seen["observations"]:
        value = "n/a" if item["value"] is None else item["value"]
        print(f"  {item['label']}: {value}")
    for title, key in (
        ("call site: fn(a, item) runs a.method(item)", "call_site_listing"),
        ("the method", "method_listing"),
        ("the call site after 1,000 calls", "specialised_listing"),
        ("a small loop", "loop_listing"),
    ):
        print(f"\n{title}:\n{seen[key]}")


if __name__ == "__main__":
    main()
