"""`segment-service serve` as processes: real `kill -9` of the supervisor and of workers, and a port in use."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.ops.servers import CLI, HOST, ServeProcess, answers, process_gone, serve_env


def folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="ops-processes-"))


class TestSupervisorKilled:
    def test_kill_9_of_the_main_process_ends_its_workers_and_frees_the_port(self, database_url: str) -> None:
        serve = ServeProcess.start(folder(), workers=2, database_url=database_url)
        try:
            workers = serve.worker_pids()
            assert len(workers) == 2
            serve.kill_supervisor()
            for pid in workers:
                assert process_gone(pid), f"worker {pid} outlived its supervisor"
            assert not answers(serve.port)
            # A restart gets the port to itself.
            with ServeProcess.start(serve.folder, port=serve.port, database_url=database_url) as restarted:
                assert restarted.get("/health").status_code == 200
        finally:
            serve.stop()

    def test_sigterm_stops_the_workers_and_exits_0(self, database_url: str) -> None:
        serve = ServeProcess.start(folder(), workers=2, database_url=database_url)
        workers = serve.worker_pids()
        assert serve.stop() == 0
        for pid in workers:
            assert process_gone(pid)
        assert not answers(serve.port)


class TestPortInUse:
    def refused_start(self, port: int, database_url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, "serve", "--port", str(port), "--data-dir", str(folder() / "data")],
            capture_output=True,
            text=True,
            env=serve_env(database_url),
            timeout=60,
            check=False,
        )

    def test_a_second_serve_on_the_same_port_refuses_to_start_with_one_line(self, database_url: str) -> None:
        with ServeProcess.start(folder(), workers=2, database_url=database_url) as first:
            second = self.refused_start(first.port, database_url)
            assert second.returncode == 1
            assert second.stdout == ""
            assert second.stderr == (
                f"error: cannot listen on {HOST}:{first.port}: Address already in use (another "
                "server is listening there: stop it or choose another --port)\n"
            )
            # The first one goes on alone: every answer comes from its workers.
            assert first.get("/health").status_code == 200

    def test_any_listener_on_the_port_refuses_the_start(self, database_url: str) -> None:
        with socket.socket() as other:
            other.bind((HOST, 0))
            other.listen()
            port = other.getsockname()[1]
            second = self.refused_start(port, database_url)
        assert second.returncode == 1
        assert second.stderr.startswith(f"error: cannot listen on {HOST}:{port}: Address already in use")
        assert len(second.stderr.splitlines()) == 1


class TestWorkerKilled:
    def test_a_killed_worker_is_replaced_and_logged_while_the_other_answers(self, database_url: str) -> None:
        with ServeProcess.start(folder(), workers=2, database_url=database_url) as serve:
            victim, survivor = serve.worker_pids()
            statuses: list[int] = []
            stop = threading.Event()

            def keep_asking() -> None:
                while not stop.is_set():
                    statuses.append(serve.get("/health", timeout=30).status_code)

            asker = threading.Thread(target=keep_asking)
            asker.start()
            try:
                time.sleep(0.3)
                os.kill(victim, signal.SIGKILL)
                (line,) = serve.wait_for_log(rf"worker process {victim} was killed by SIGKILL; started worker process")
                replacement = int(re.findall(r"\d+", line)[-1])
                serve.wait_for_log("Application startup complete", count=3)  # two at the start, one now
                time.sleep(0.3)
            finally:
                stop.set()
                asker.join(60)
            assert sorted(serve.worker_pids()) == sorted([survivor, replacement])
            assert statuses
            assert set(statuses) == {200}
            assert serve.get("/health").status_code == 200
            assert serve.process.poll() is None

    def test_the_only_worker_is_replaced_too(self, database_url: str) -> None:
        with ServeProcess.start(folder(), workers=1, database_url=database_url) as serve:
            (worker,) = serve.worker_pids()
            os.kill(worker, signal.SIGKILL)
            # The port stays open (the supervisor holds it): a request waits for the new worker instead of failing.
            assert serve.get("/health", timeout=60).status_code == 200
            serve.wait_for_log(rf"worker process {worker} was killed by SIGKILL; started worker process")
            assert serve.worker_pids() != [worker]
