"""Timing whole commands: wall time and peak RSS of one child, runs interleaved, cells of a table."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Command:
    """One timed thing: a command line run in `cwd` (or a callable, for the in-process floor), with an
    untimed `prepare` before each run (e.g. empty the output folder for a first apply)."""

    argv: Sequence[str] = ()
    cwd: Path | None = None
    prepare: Callable[[], None] = lambda: None
    call: Callable[[], None] | None = None
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds: less swayed by others' load
    peak_kib: int = 0

    def once(self) -> None:
        self.prepare()
        if self.call is not None:
            start = time.perf_counter()
            self.call()
            self.times.append(time.perf_counter() - start)
            self.cpu.append(self.times[-1])
            return
        start = time.perf_counter()
        proc = subprocess.Popen(list(self.argv), cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # wait4, not proc.wait: the child's own peak RSS (the largest of it and the children it waited for).
        _, status, usage = os.wait4(proc.pid, 0)
        self.times.append(time.perf_counter() - start)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(self.argv)} failed ({proc.returncode}): {err[-2000:]}")
        self.peak_kib = max(self.peak_kib, usage.ru_maxrss)
        self.cpu.append(usage.ru_utime + usage.ru_stime)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def interleaved(rounds: int, *commands: Command) -> None:
    """Round after round, each command once: A, B, A, B, … so that the load other users put on the
    shared machine falls on both alike."""
    for _ in range(rounds):
        for command in commands:
            command.once()


def cell(command: Command | None) -> str:
    if command is None or not command.times:
        return "–"
    t = command.times
    if len(t) == 1:
        return f"{t[0]:.3f} s (1 run)"
    return f"{statistics.median(t):.3f} s ({min(t):.3f}–{max(t):.3f})"


def ratio(mine: Command, base: Command | None) -> str:
    if base is None or not base.times:
        return "–"
    m, b = mine.median, base.median
    return f"{b / m:.1f}× faster" if m <= b else f"{m / b:.1f}× slower"


def cpu(command: Command | None) -> str:
    return f"{statistics.median(command.cpu):.3f} s" if command is not None and command.cpu else "–"


def rss(command: Command) -> str:
    return f"{command.peak_kib / 1024:.0f} MB" if command.peak_kib else "–"
