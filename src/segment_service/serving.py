"""How `segment-service serve` runs the app: uvicorn (httptools' HTTP parser, the uvloop event loop) in worker
processes under a supervisor.

- The supervisor binds the port itself, without SO_REUSEPORT, before anything else starts: a port in use refuses
  the start with one line instead of sharing the port with whatever listens there.
- The supervisor restarts a worker that dies (a crash, an out-of-memory kill, `kill -9`) and logs it; the other
  workers go on answering meanwhile.
- A worker dies with its supervisor: on Linux the kernel sends it SIGTERM when the supervisor exits, even by
  `kill -9` (PR_SET_PDEATHSIG), and every worker also watches its parent once a second (other systems, and the
  moment between the worker's start and arming the signal). So no orphaned worker keeps answering on the port.

Why uvicorn and httptools: the service must take a raw `"`, `<` or `>` in the query string, as Emporix writes its
own `q` examples (`q=metadata.createdAt:>2024-01-01`); docs/operations.md#processes-and-signals has the figures.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger("segment_service.server")

#: The app factory every worker imports.
APP = "segment_service.asgi:build"
#: The supervisor's pid, for its workers to follow (set by `serve` before the workers start).
SUPERVISOR_PID_ENV = "SEGMENT_SERVICE_SUPERVISOR_PID"
#: How long a stopping worker lets requests in flight finish before it closes their connections.
GRACEFUL_SHUTDOWN_SECONDS = 10
#: How long to wait before trying again to replace a worker whose replacement could not start: doubling from the
#: first to the last (each failed start logs the app's startup error).
REPLACEMENT_RETRY_SECONDS = (5, 30)
_BACKLOG = 2048
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class CannotListen(Exception):
    """The address to serve on cannot be bound (in use, not an address of this machine, no permission)."""


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port, or CannotListen with a one-line reason.

    SO_REUSEADDR lets a restart bind while the previous run's connections linger in TIME_WAIT, but never beside a
    socket that still listens; listening right away (not only binding) is what makes a second server fail here."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        hint = (
            " (another server is listening there: stop it or choose another --port)" if exc.errno == 98 else ""
        )  # EADDRINUSE on Linux
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
    sock.set_inheritable(True)
    return sock


def _exit_description(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-exitcode).name}"
    return f"exited with code {exitcode}"


class Supervisor(Multiprocess):
    """uvicorn's process supervisor, which restarts a worker that dies, with the restart logged by the service.

    A worker of the first start that cannot start (a broken app or configuration) stops the supervisor, as uvicorn
    does. A replacement that cannot start (the database is down at that moment) is tried again after a pause
    (REPLACEMENT_RETRY_SECONDS) instead, so that the server comes back by itself with the database."""

    startup_failed = False

    def init_processes(self) -> None:
        super().init_processes()
        self._first_workers = {process.pid for process in self.processes}
        self._retry_at: dict[int, float] = {}  # slot -> when to try a replacement again
        self._retry_pause: dict[int, float] = {}  # slot -> the pause after its next failed start

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            retry_at = self._retry_at.get(index)
            if retry_at is not None:
                if time.monotonic() >= retry_at:
                    del self._retry_at[index]
                    self.processes[index] = self._replace(process, "failed to start")
                continue
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            exited = not process.process.is_alive()
            process.kill()  # a hung worker (no answer to the health check) is ended; a dead one is reaped
            process.join()
            if self.should_exit.is_set():
                return
            if process.exitcode == STARTUP_FAILURE:
                if process.pid in self._first_workers:
                    log.error("worker process %s failed to start; stopping the server", process.pid)
                    self.startup_failed = True
                    self.should_exit.set()
                    return
                first, last = REPLACEMENT_RETRY_SECONDS
                pause = self._retry_pause.get(index, first)
                self._retry_pause[index] = min(pause * 2, last)
                log.error("worker process %s failed to start; trying again in %d s", process.pid, pause)
                self._retry_at[index] = time.monotonic() + pause
                continue
            self._retry_pause.pop(index, None)  # it had started: the next failure starts the pauses over
            what = _exit_description(process.exitcode) if exited else "stopped answering its health check"
            self.processes[index] = self._replace(process, what)

    def _replace(self, process: Process, what: str) -> Process:
        replacement = Process(self.config, self.sockets)
        replacement.start()
        log.warning("worker process %s %s; started worker process %s in its place", process.pid, what, replacement.pid)
        return replacement


def run(sock: socket.socket, *, workers: int, app: str = APP) -> bool:
    """Serve the app (the factory `app`) on `sock` with `workers` worker processes until SIGTERM or SIGINT; False
    when a worker could not start. Always a supervisor, also for one worker, so that a dead worker is replaced.
    (bench/floor.py serves its bare app with this too, so that both run on the same server.)"""
    os.environ[SUPERVISOR_PID_ENV] = str(os.getpid())
    host, port = sock.getsockname()[:2]
    config = Config(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="httptools",
        loop="uvloop",
        interface="asgi3",
        lifespan="on",
        access_log=False,
        server_header=False,
        log_config=None,  # the service's own logging (core/logs.py) writes uvicorn's lines too
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    supervisor = Supervisor(config, sockets=[sock])
    supervisor.run()
    return not supervisor.startup_failed


def follow_supervisor() -> None:
    """In a worker: end this process when the supervisor that started it is gone (see the module's docstring).
    Nothing happens in a process not started by `serve` (tests, another ASGI server)."""
    supervisor = os.environ.get(SUPERVISOR_PID_ENV)
    if not supervisor or os.getpid() == int(supervisor):
        return
    parent = int(supervisor)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            log.warning(
                "could not ask the kernel to stop this worker with its supervisor (errno %s); "
                "watching the supervisor instead",
                ctypes.get_errno(),
            )
    if os.getppid() != parent:  # the supervisor died before the signal was armed
        log.error("worker process %s: its supervisor %s is gone; exiting", os.getpid(), parent)
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="follow-supervisor", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    log.error("worker process %s: its supervisor %s is gone; stopping", os.getpid(), parent)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACEFUL_SHUTDOWN_SECONDS + 5)
    os._exit(1)  # the graceful stop did not finish in time
