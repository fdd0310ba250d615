"""Shared timing helpers: run callables side by side, several rounds, report medians and ratios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(func: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(title: str, rows: list[tuple[str, float]], baseline: str) -> None:
    base = dict(rows)[baseline]
    print(f"\n{title}")
    for name, seconds in rows:
        print(f"  {name:<48} {seconds * 1000:9.1f} ms   {seconds / base:6.2f}x of {baseline}")
