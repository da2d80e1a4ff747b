"""Versions shared by the processes of one host, so that a cached storefront read needs no statement at all
(docs/answers.md#versions-kept-on-the-host).

A small file in shared memory holds `SLOTS` generation counters. A scope (a segment, a tenant's catalogue, a
customer's memberships, a tenant's segment definitions, a coupon) maps to one slot by a hash every process computes
alike; two scopes that share a slot only invalidate each other's memos more often than needed.

A write marks its scopes' slots inside its transaction, before it commits: it takes a shared advisory lock on each
slot's byte of the file (POSIX record locks, held until the connection goes back to the pool, after the COMMIT or
ROLLBACK) and then adds one to each slot's generation. A reader that wants to remember something read from the
database reads the generations of the slots it depends on first, then checks that no write holds any of them, and
only then asks the database; what it read is kept with those generations and trusted only while they are unchanged.
So a write either had committed before the reader's statement began (its lock was gone, so its COMMIT had returned),
or it raises a generation after the reader read it. A writer killed at any moment loses its record locks with its
process, and its generations were raised before its COMMIT; but PostgreSQL may still be committing its transaction.
So the write also holds a transaction-level advisory lock per slot in the database (ADVISORY_CLASS, the slot), which
lasts exactly as long as its transaction there, and a reader asks, in a statement before the one it learns from,
that none of its slots is held so (answers/store.py `writes_open`).

Every process that writes must run on this host and use this file: with processes on several hosts, or writers
that do not go through the service, the versions must be read from the database (SEGMENT_SERVICE_ANSWER_VERSIONS,
`database`, the default).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import tempfile
import time
import zlib
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Generation counters in the file (8 bytes each): 128 KiB.
SLOTS = 16384
#: The byte locked exclusively while generations are raised, so that two writers' additions never overwrite each
#: other (beyond the counters, where no reader looks).
_BUMP_BYTE = SLOTS * 8
#: struct flock on Linux: l_type, l_whence, l_start, l_len, l_pid (and padding).
_FLOCK = struct.Struct("hhqqi4x")
#: One generation as the file holds it (the memoryview's "Q": native order).
_GENERATION = struct.Struct("=Q")

#: The scope of a tenant's segment definitions (which segment is active where): raised by every segment written.
DEFINITIONS = "\x00segments"


def member_scope(customer_id: str) -> str:
    """The scope of a customer's memberships."""
    return "\x00member\x00" + customer_id


def coupon_scope(code: str) -> str:
    """The scope of a coupon (its code as stored) and its redemptions: what a validation remembers of it."""
    return "\x00coupon\x00" + code


#: The first key of the transaction-level advisory locks that mirror a write's marks in PostgreSQL (the second key is
#: the slot): they last until the write's transaction has ended in the database, even when its process died first.
ADVISORY_CLASS = 0x53564552


def slots_of(tenant: str, scopes: Sequence[str]) -> list[int]:
    return sorted({slot(tenant, scope) for scope in scopes})


def slot(tenant: str, scope: str) -> int:
    """The slot of `scope` of `tenant`: the same in every process (unlike `hash`, which is seeded per process)."""
    return zlib.crc32(f"{tenant}\x00{scope}".encode()) % SLOTS


class HostVersions:
    """The generation counters in `path`, created (zeroed) when missing. One instance per file and process
    (`shared`): closing any descriptor of the file would drop all of the process's locks on it."""

    _open: dict[str, HostVersions] = {}

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < SLOTS * 8:
            os.ftruncate(self._fd, SLOTS * 8)
        self._map = mmap.mmap(self._fd, SLOTS * 8)
        self._generations = memoryview(self._map).cast("Q")
        #: Slots this process's writes hold, with how many of them hold each (the lock is per process).
        self._held: dict[int, int] = {}
        #: The slots each open write (by its connection) holds.
        self._marks: dict[int, list[int]] = {}

    @classmethod
    def shared(cls, path: Path) -> HostVersions:
        key = str(path)
        found = cls._open.get(key)
        if found is None:
            found = cls._open[key] = cls(path)
        return found

    def generations(self, slots: Sequence[int]) -> tuple[int, ...]:
        return tuple(map(self._generations.__getitem__, slots))

    def quiet(self, slots: Sequence[int]) -> bool:
        """Whether no write, of this process or another, holds any of `slots` now."""
        held = self._held
        for index in slots:
            if index in held:
                return False
            probe = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, index, 1, 0)
            if _FLOCK.unpack(fcntl.fcntl(self._fd, fcntl.F_GETLK, probe))[0] != fcntl.F_UNLCK:
                return False
        return True

    def snapshot(self) -> bytes | None:
        """Every slot's generation (8 bytes each, native order), taken when no write of any process holds any slot;
        None while one does."""
        copy = self._map[:]
        if self._held:
            return None
        probe = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, 0, SLOTS, 0)
        if _FLOCK.unpack(fcntl.fcntl(self._fd, fcntl.F_GETLK, probe))[0] != fcntl.F_UNLCK:
            return None
        return copy

    def mark(self, owner: object, slots: Sequence[int]) -> None:
        """Hold `slots` for the write on connection `owner` until `release(owner)`, then raise their generations."""
        mine = self._marks.setdefault(id(owner), [])
        for index in sorted(set(slots)):
            count = self._held.get(index, 0)
            if count == 0:
                fcntl.lockf(self._fd, fcntl.LOCK_SH, 1, index, os.SEEK_SET)
            self._held[index] = count + 1
            mine.append(index)
        fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, _BUMP_BYTE, os.SEEK_SET)
        try:
            generations = self._generations
            for index in set(slots):
                generations[index] = (generations[index] + 1) & 0xFFFFFFFFFFFFFFFF
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, _BUMP_BYTE, os.SEEK_SET)

    def release(self, owner: object) -> None:
        """Let go of what the write on `owner` holds (its transaction has ended)."""
        mine = self._marks.pop(id(owner), None)
        if not mine:
            return
        held = self._held
        for index in mine:
            count = held[index] - 1
            if count:
                held[index] = count
            else:
                del held[index]
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, index, os.SEEK_SET)

    @property
    def holding(self) -> int:
        """Slots this process's open writes hold (0 when none is under way)."""
        return len(self._held)


def path_for(installation: str) -> Path:
    """The file of the database `installation` (migration 0020) on this host: in shared memory where there is
    one."""
    directory = Path("/dev/shm")
    if not directory.is_dir():
        directory = Path(tempfile.gettempdir())
    name = "".join(c for c in installation if c.isalnum())[:64]
    return directory / f"segment-service-{name}.versions"


#: The files this process writes its marks to: those of the apps that keep versions on the host. Once opened, a
#: file stays in use for the life of the process (another app of the process may still rely on it); a mark goes to
#: every one, which for a database the file is not about only invalidates more.
HOSTS: list[HostVersions] = []


def use(host: HostVersions) -> None:
    if host not in HOSTS:
        HOSTS.append(host)


def mark(conn: object, tenant: str, scopes: Sequence[str]) -> list[int]:
    """Mark `scopes` of `tenant` as written by the transaction on `conn` (see the module docstring); the slots, which
    the caller also holds in the database for the rest of the transaction (answers/store.py `hold_slots`). No slots
    when no file is in use."""
    if not HOSTS:
        return []
    slots = slots_of(tenant, scopes)
    for host in HOSTS:
        host.mark(conn, slots)
    return slots


def release(conn: object) -> None:
    """The connection went back to the pool: its transaction's marks end."""
    for host in HOSTS:
        if host._marks:
            host.release(conn)


@dataclass(frozen=True, slots=True)
class Ticket:
    """The slots a read depends on and their generations, taken before the read asked the database."""

    slots: tuple[int, ...]
    generations: tuple[int, ...]
    started: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every slot's generation, taken before a read asked the database with no write holding any slot."""

    generations: bytes
    started: float

    def ticket(self, tenant: str, scopes: Sequence[str]) -> Ticket:
        slots = tuple(slot(tenant, scope) for scope in scopes)
        generations = tuple(_GENERATION.unpack_from(self.generations, index * 8)[0] for index in slots)
        return Ticket(slots, generations, self.started)


class VersionMemo:
    """What reads learnt from the database about versions (a customer's active segments, a segment's answer
    version, a catalogue's), trusted while the generations of the slots they depend on are those of their ticket,
    and until their expiry. At most `limit` entries; the least recently used go first."""

    def __init__(self, host: HostVersions, limit: int) -> None:
        self.host = host
        self.limit = limit
        self._entries: OrderedDict[Hashable, tuple[Any, tuple[int, ...], tuple[int, ...], float]] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        """The value kept under `key` if it is still true; None otherwise."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, slots, generations, expires = entry
        if expires <= time.monotonic() or self.host.generations(slots) != generations:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def recall(self, key: Hashable) -> Any:
        """What was last kept under `key`, true or not any more (a hint of what a read will find)."""
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def ticket(self, tenant: str, scopes: Sequence[str]) -> Ticket | None:
        """Before a read: the ticket to keep what it learns under, or None while a write holds one of the scopes."""
        slots = tuple(slot(tenant, scope) for scope in scopes)
        started = time.monotonic()
        generations = self.host.generations(slots)
        if not self.host.quiet(slots):
            return None
        return Ticket(slots, generations, started)

    def snapshot(self) -> Snapshot | None:
        """Before a read: a ticket for any scope at all, or None while a write holds any slot (see `ticket`)."""
        started = time.monotonic()
        generations = self.host.snapshot()
        return None if generations is None else Snapshot(generations, started)

    def put(self, key: Hashable, value: Any, ticket: Ticket | None, expires_in: float | None = None) -> None:
        """Keep `value` (read after `ticket` was taken) until a write raises one of its slots, or `expires_in`
        seconds after the ticket (a validity window that opens or closes by itself)."""
        if ticket is None:
            return
        expires = float("inf") if expires_in is None else ticket.started + expires_in
        self._entries[key] = (value, ticket.slots, ticket.generations, expires)
        self._entries.move_to_end(key)
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
