"""Threads share everything; a process gets a copy and only what you send it.

The script checks, by running them, five facts about data and workers:

* a thread's change to a list is seen by the main thread: they share memory;
* a child process's change to a list is not: it changed its own copy;
* a ``multiprocessing.Value``, a ``Queue`` and a ``shared_memory`` block do
  carry data between processes, because they are built for it;

then times what handing a large list to a worker costs: nothing to copy for a
thread, pickling and piping for a process, and little for a process that
reads a shared memory block.

Run it::

    python sharing_data.py            # a few seconds
    python sharing_data.py --quick    # about a second
    python sharing_data.py --json     # machine-readable results
    python sharing_data.py --length 5000000

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import sys
import threading
import time
from array import array
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import shared_memory
from typing import Any, Callable

CLAIM = (
    "Threads share memory; processes share only what is sent to them or placed in "
    "shared memory, and sending large data costs time."
)

shopping_list = ["eggs"]


def add_sugar() -> None:
    shopping_list.append("sugar")


def seen_from_a_thread() -> bool:
    """Does the main thread see what another thread appended?"""
    shopping_list[:] = ["eggs"]
    worker = threading.Thread(target=add_sugar)
    worker.start()
    worker.join()
    return "sugar" in shopping_list


def seen_from_a_process() -> bool:
    """Does the parent see what a child process appended?"""
    shopping_list[:] = ["eggs"]
    child = multiprocessing.Process(target=add_sugar)
    child.start()
    child.join()
    return "sugar" in shopping_list


def add_to_value(total: Any) -> None:
    with total.get_lock():
        total.value += 42


def via_value() -> int:
    """A number in shared memory, changed by a child process."""
    total = multiprocessing.Value("q", 0)
    child = multiprocessing.Process(target=add_to_value, args=(total,))
    child.start()
    child.join()
    return int(total.value)


def answer(queue: Any) -> None:
    queue.put("cream whipped")


def via_queue() -> str:
    """A message sent back from a child process through a queue."""
    queue: Any = multiprocessing.Queue()
    child = multiprocessing.Process(target=answer, args=(queue,))
    child.start()
    message = str(queue.get(timeout=30))
    child.join()
    return message


def write_block(name: str) -> None:
    block = shared_memory.SharedMemory(name=name)
    block.buf[:5] = b"fruit"
    block.close()


def via_shared_memory() -> str:
    """Bytes that a child process wrote into a shared memory block."""
    block = shared_memory.SharedMemory(create=True, size=16)
    try:
        child = multiprocessing.Process(target=write_block, args=(block.name,))
        child.start()
        child.join()
        return bytes(block.buf[:5]).decode()
    finally:
        block.close()
        block.unlink()


def length_of(numbers: list[int]) -> int:
    return len(numbers)


def length_in_block(name: str, count: int) -> int:
    block = shared_memory.SharedMemory(name=name)
    try:
        return len(block.buf[: count * 8].cast("q"))
    finally:
        block.close()


def time_handover(pool: Executor, task: Callable[..., int], *args: Any) -> float:
    """Seconds to hand `args` to a worker that only measures their length."""
    start = time.perf_counter()
    pool.submit(task, *args).result()
    return time.perf_counter() - start


def measure(length: int, repeats: int) -> list[dict[str, Any]]:
    """Time handing a list of `length` numbers to a thread, a process, and via shared memory."""
    numbers = list(range(length))
    block = shared_memory.SharedMemory(create=True, size=length * 8)
    block.buf[: length * 8] = array("q", numbers).tobytes()
    try:
        with ProcessPoolExecutor(1) as process, ThreadPoolExecutor(1) as thread:
            # Start the process while this one has no other thread: forking a process
            # that runs threads can deadlock the child (and warns since Python 3.12).
            process.submit(int).result()
            ways: list[tuple[str, str, Executor, Callable[..., int], tuple[Any, ...]]] = [
                ("thread", "to a thread", thread, length_of, (numbers,)),
                ("process", "to a process (pickled)", process, length_of, (numbers,)),
                ("shared", "to a process (shared memory)", process, length_in_block,
                 (block.name, length)),
            ]  # fmt: skip
            results = []
            for name, label, pool, task, args in ways:
                time_handover(pool, task, *args)  # warm-up; also starts the process
                seconds = [time_handover(pool, task, *args) for _ in range(repeats)]
                results.append({"variant": name, "label": label, "seconds": seconds,
                                "median": statistics.median(seconds), "min": min(seconds),
                                "max": max(seconds)})  # fmt: skip
    finally:
        block.close()
        block.unlink()
    return results


def observe() -> list[dict[str, Any]]:
    return [
        {"name": "thread_sees", "label": "main thread sees a thread's append",
         "value": seen_from_a_thread()},
        {"name": "process_sees", "label": "parent sees a child process's append",
         "value": seen_from_a_process()},
        {"name": "value", "label": "multiprocessing.Value after a child added 42",
         "value": via_value()},
        {"name": "queue", "label": "message received through a multiprocessing.Queue",
         "value": via_queue()},
        {"name": "shared_memory", "label": "bytes a child wrote to shared memory",
         "value": via_shared_memory()},
    ]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=CLAIM, usage=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short run (about a second)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--length", type=int, help="numbers in the list handed over")
    parser.add_argument("--repeats", type=int, help="handovers timed per way")
    args = parser.parse_args(argv)
    for option, count in {"--length": args.length, "--repeats": args.repeats}.items():
        if count is not None and count < 1:
            parser.error(f"{option} must be at least 1")
    args.length = args.length or (200_000 if args.quick else 1_000_000)
    args.repeats = args.repeats or (5 if args.quick else 11)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    observations = observe()
    timings = measure(args.length, args.repeats)
    if args.json:
        document = {
            "example": "sharing_data",
            "claim": CLAIM,
            # asked after the measurements: an import can switch the GIL back on
            "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
            "parameters": {"length": args.length, "repeats": args.repeats, "quick": args.quick},
            "observations": observations,
            "baseline": "thread",
            "timings": timings,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python}, start method {multiprocessing.get_start_method()}")
    for item in observations:
        print(f"  {item['label']}: {item['value']}")
    print(f"\nHanding over a list of {args.length:,} numbers (median of {args.repeats}):")
    for row in timings:
        print(f"  {row['label']:<30} {row['median'] * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
