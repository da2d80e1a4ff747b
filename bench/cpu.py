"""CPU time spent per request, read from /proc: the part of the numbers that a noisy neighbour barely moves.

req/s on a shared 2-core box swings with whatever else runs; the CPU seconds the server's processes and the
PostgreSQL backends burn per request mostly do not, so they say where the time goes (Python or SQL) more steadily.
Linux only: elsewhere every reading is 0 and the report leaves the columns out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class _Stat:
    pid: int
    ppid: int
    pgrp: int
    cpu_seconds: float


def _stat(pid: int) -> _Stat | None:
    try:
        raw = (_PROC / str(pid) / "stat").read_text(encoding="utf-8")
    except OSError:
        return None  # gone meanwhile
    # The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, pgrp 5, utime 14, stime 15.
    return _Stat(
        pid=pid, ppid=int(fields[1]), pgrp=int(fields[2]), cpu_seconds=(int(fields[11]) + int(fields[12])) / _TICKS
    )


def _all() -> list[_Stat]:
    if not _PROC.is_dir():
        return []
    stats = (_stat(int(p.name)) for p in _PROC.iterdir() if p.name.isdigit())
    return [s for s in stats if s is not None]


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the living processes of process group `pgid` (a server and its workers)."""
    return sum(s.cpu_seconds for s in _all() if s.pgrp == pgid)


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by `root` and its direct children (the postmaster and its backends)."""
    return sum(s.cpu_seconds for s in _all() if s.pid == root or s.ppid == root)


@dataclass(frozen=True, slots=True)
class CpuSample:
    """One reading of the server's and PostgreSQL's CPU counters."""

    server: float
    postgres: float

    @classmethod
    def take(cls, server_pgid: int, postmaster_pid: int | None) -> CpuSample:
        return cls(server=group_cpu(server_pgid), postgres=tree_cpu(postmaster_pid) if postmaster_pid else 0.0)


def per_request_us(before: CpuSample, after: CpuSample, requests: int) -> tuple[float, float]:
    """(server µs, PostgreSQL µs) of CPU per request between two readings."""
    if requests <= 0:
        return 0.0, 0.0
    return ((after.server - before.server) * 1e6 / requests, (after.postgres - before.postgres) * 1e6 / requests)
