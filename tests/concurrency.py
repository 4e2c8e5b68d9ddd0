"""Running test work in threads that start together."""

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def at_once(work: Callable[[int], T], count: int) -> list[T]:
    """`work(n)` for n in range(count), each in a thread, started together."""
    start = threading.Barrier(count)
    results: dict[int, T] = {}

    def run(n: int) -> None:
        start.wait()
        results[n] = work(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [results[n] for n in range(count)]
