"""The host's versions (core/host_versions.py): generations in a shared file, write marks as per-process record
locks, and the memo that trusts what a read learnt only while its slots' generations stand. Other processes are
real processes on the same file; one of them is killed with SIGKILL while it holds marks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from segment_service.core import host_versions
from segment_service.core.host_versions import SLOTS, HostVersions, VersionMemo, slot

TENANT = "t-host"


@pytest.fixture
def host(tmp_path: Path) -> HostVersions:
    return HostVersions.shared(tmp_path / "versions")


def _other_process(path: Path, scopes: list[str]) -> subprocess.Popen[str]:
    """A process that marks `scopes` of TENANT as written by one transaction, says so, and holds them."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from segment_service.core.host_versions import HostVersions, slot
        host = HostVersions.shared(Path({str(path)!r}))
        owner = object()
        host.mark(owner, [slot({TENANT!r}, scope) for scope in {scopes!r}])
        print("marked", flush=True)
        if sys.stdin.readline().strip() == "release":
            host.release(owner)
            print("released", flush=True)
        time.sleep(60)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "marked"
    return process


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_slots_are_the_same_in_every_process(tmp_path: Path) -> None:
    """`hash` is seeded per process; the slot must not be."""
    code = f"from segment_service.core.host_versions import slot; print(slot({TENANT!r}, 'segment-1'))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert int(printed.stdout) == slot(TENANT, "segment-1")
    assert 0 <= slot(TENANT, "segment-1") < SLOTS
    assert slot(TENANT, "segment-1") != slot("other", "segment-1") or slot(TENANT, "x") != slot("other", "x")


def test_a_mark_raises_the_generations_and_holds_until_released(host: HostVersions) -> None:
    slots = [slot(TENANT, "a"), slot(TENANT, "b")]
    before = host.generations(slots)
    owner = object()
    host.mark(owner, slots)
    assert host.generations(slots) == tuple(g + 1 for g in before)
    assert not host.quiet(slots[:1])
    host.release(owner)
    assert host.quiet(slots)
    assert host.generations(slots) == tuple(g + 1 for g in before)


def test_two_writes_of_one_process_hold_a_slot_until_both_end(host: HostVersions) -> None:
    """A record lock is the process's, not the write's: the first write to end must not free the second's slot."""
    shared = slot(TENANT, "shared")
    first, second = object(), object()
    host.mark(first, [shared])
    host.mark(second, [shared, shared])
    host.release(first)
    assert not host.quiet([shared])
    host.release(second)
    assert host.quiet([shared])
    assert host.holding == 0


def test_another_process_sees_the_marks_and_their_end(
    host: HostVersions, processes: list[subprocess.Popen[str]]
) -> None:
    slots = [slot(TENANT, "x"), slot(TENANT, "y")]
    before = host.generations(slots)
    other = _other_process(host.path, ["x", "y"])
    processes.append(other)
    assert host.generations(slots) == tuple(g + 1 for g in before)
    assert not host.quiet(slots[:1])
    assert not host.quiet(slots[1:])
    assert host.quiet([slot(TENANT, "untouched")]) or slot(TENANT, "untouched") in slots
    assert other.stdin is not None
    assert other.stdout is not None
    other.stdin.write("release\n")
    other.stdin.flush()
    assert other.stdout.readline().strip() == "released"
    assert host.quiet(slots)


def test_a_writer_killed_while_marking_leaves_raised_generations_and_no_lock(
    host: HostVersions, processes: list[subprocess.Popen[str]]
) -> None:
    """SIGKILL after its COMMIT: the kernel drops its locks; its generations were raised before the COMMIT."""
    slots = [slot(TENANT, "killed")]
    before = host.generations(slots)
    other = _other_process(host.path, ["killed"])
    processes.append(other)
    assert not host.quiet(slots)
    os.killpg(other.pid, signal.SIGKILL)
    other.wait(timeout=10)
    assert host.quiet(slots)
    assert host.generations(slots) == (before[0] + 1,)


def test_concurrent_marks_of_many_processes_lose_no_addition(host: HostVersions) -> None:
    """The additions are made under an exclusive lock: 4 processes x 200 marks of one slot add 800."""
    target = slot(TENANT, "contended")
    before = host.generations([target])[0]
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from segment_service.core.host_versions import HostVersions
        host = HostVersions.shared(Path({str(host.path)!r}))
        for _ in range(200):
            owner = object()
            host.mark(owner, [{target}])
            host.release(owner)
        """
    )
    workers = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0, 0]
    assert host.generations([target])[0] == before + 800


def test_release_of_an_unknown_owner_does_nothing(host: HostVersions) -> None:
    host.release(object())
    assert host.holding == 0


class TestMemo:
    def test_kept_while_the_generations_stand(self, host: HostVersions) -> None:
        memo = VersionMemo(host, 10)
        ticket = memo.ticket(TENANT, ["s1"])
        memo.put("k", ("s1",), ticket)
        assert memo.get("k") == ("s1",)
        owner = object()
        host.mark(owner, [slot(TENANT, "s1")])
        host.release(owner)
        assert memo.get("k") is None
        assert len(memo) == 0

    def test_no_ticket_while_a_write_holds_a_scope(self, host: HostVersions) -> None:
        memo = VersionMemo(host, 10)
        owner = object()
        host.mark(owner, [slot(TENANT, "busy")])
        ticket = memo.ticket(TENANT, ["free", "busy"])
        assert ticket is None
        memo.put("k", 1, ticket)
        assert memo.get("k") is None
        host.release(owner)
        assert memo.ticket(TENANT, ["free", "busy"]) is not None

    def test_a_write_between_ticket_and_put_makes_the_value_untrusted(self, host: HostVersions) -> None:
        """The read's statement ran before the write committed: what it learnt is kept under the old generations,
        which the write has raised."""
        memo = VersionMemo(host, 10)
        ticket = memo.ticket(TENANT, ["s"])
        owner = object()
        host.mark(owner, [slot(TENANT, "s")])
        memo.put("k", "old", ticket)
        host.release(owner)
        assert memo.get("k") is None

    def test_an_expiry_ends_it(self, host: HostVersions) -> None:
        memo = VersionMemo(host, 10)
        memo.put("k", 1, memo.ticket(TENANT, ["s"]), expires_in=0.05)
        assert memo.get("k") == 1
        time.sleep(0.06)
        assert memo.get("k") is None
        memo.put("past", 1, memo.ticket(TENANT, ["s"]), expires_in=-1.0)
        assert memo.get("past") is None

    def test_the_least_recently_used_go_first(self, host: HostVersions) -> None:
        memo = VersionMemo(host, 2)
        for key in ("a", "b"):
            memo.put(key, key, memo.ticket(TENANT, [key]))
        assert memo.get("a") == "a"
        memo.put("c", "c", memo.ticket(TENANT, ["c"]))
        assert (memo.get("a"), memo.get("b"), memo.get("c")) == ("a", None, "c")
        assert memo.recall("a") == "a"
        assert memo.recall("b") is None


def test_marks_go_to_every_file_in_use_and_end_with_the_connection(tmp_path: Path) -> None:
    one = HostVersions.shared(tmp_path / "one")
    two = HostVersions.shared(tmp_path / "two")
    saved = list(host_versions.HOSTS)
    try:
        host_versions.use(one)
        host_versions.use(two)
        host_versions.use(one)
        assert host_versions.HOSTS[-2:] == [one, two]
        conn = object()
        target = slot(TENANT, "s")
        before = (one.generations([target]), two.generations([target]))
        host_versions.mark(conn, TENANT, ["s"])
        assert (one.generations([target]), two.generations([target])) == tuple((g[0] + 1,) for g in before)
        assert not one.quiet([target])
        assert not two.quiet([target])
        host_versions.release(conn)
        assert one.quiet([target])
        assert two.quiet([target])
    finally:
        host_versions.HOSTS[:] = saved


def test_the_file_is_named_by_the_installation() -> None:
    path = host_versions.path_for("abc/../123")
    assert path.name == "segment-service-abc123.versions"


def test_a_snapshot_is_refused_while_any_write_holds_any_slot(
    host: HostVersions, processes: list[subprocess.Popen[str]]
) -> None:
    """A snapshot vouches for every scope, so a write anywhere refuses it; in this process and in another."""
    memo = VersionMemo(host, 10)
    taken = memo.snapshot()
    assert taken is not None
    assert taken.ticket(TENANT, ["s"]).generations == host.generations([slot(TENANT, "s")])
    owner = object()
    host.mark(owner, [slot(TENANT, "elsewhere")])
    assert memo.snapshot() is None
    host.release(owner)
    assert memo.snapshot() is not None
    other = _other_process(host.path, ["far away"])
    processes.append(other)
    assert memo.snapshot() is None
    os.killpg(other.pid, signal.SIGKILL)
    other.wait(timeout=10)
    assert memo.snapshot() is not None


def test_a_value_kept_by_a_snapshot_ends_with_its_scope(host: HostVersions) -> None:
    memo = VersionMemo(host, 10)
    taken = memo.snapshot()
    assert taken is not None
    memo.put("v", 7, taken.ticket(TENANT, ["seg"]))
    assert memo.get("v") == 7
    owner = object()
    host.mark(owner, [slot(TENANT, "seg")])
    host.release(owner)
    assert memo.get("v") is None
