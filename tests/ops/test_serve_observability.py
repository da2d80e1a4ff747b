"""`segment-service serve --workers 2` as an operator runs it: every log line on stderr a JSON object, the access
log, request ids, and `/metrics` adding up the numbers of both worker processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

LIVE = 'segment_service_http_requests_total{method="GET",route="/health/live",status="200"}'
SENT = 240


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen[bytes]
    stderr: Path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    folder = Path(tempfile.mkdtemp(prefix="segment-service-serve-"))
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR") and not k.startswith("SEGMENT_SERVICE_")
    }
    env["SEGMENT_SERVICE_LOG_FORMAT"] = "json"
    with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "segment_service",
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
                "--data-dir",
                str(folder / "data"),
            ],
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (folder / "stderr").read_text()
            try:
                if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready within 90 s"
            time.sleep(0.2)
        yield Served(base_url, process, folder / "stderr")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


def metrics_folder(served: Served) -> Path:
    """The folder `serve` made for its workers, as its log says."""
    for line in served.stderr.read_text().splitlines():
        message = json.loads(line)["message"]
        if message.startswith("metrics of this run's server processes are kept in "):
            return Path(message.rsplit(" ", 1)[1])
    raise AssertionError("serve did not log its metrics folder")


def live_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "segment_service_http_requests_total" and sample.labels == {
                "method": "GET",
                "route": "/health/live",
                "status": "200",
            }:
                return sample.value
    return 0.0


def per_process_counts(folder: Path) -> dict[int, float]:
    """/health/live's count in each process's own file."""
    counts = {}
    for path in folder.glob("counter_*.db"):
        alone = Path(tempfile.mkdtemp())
        try:
            shutil.copy(path, alone)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, str(alone))  # type: ignore[no-untyped-call]  # not annotated upstream
            for metric in registry.collect():
                for sample in metric.samples:
                    if (
                        sample.name == "segment_service_http_requests_total"
                        and sample.labels.get("route") == "/health/live"
                    ):
                        counts[int(path.stem.split("_")[1])] = sample.value
        finally:
            shutil.rmtree(alone)
    return counts


def test_metrics_add_up_both_workers(served: Served) -> None:
    def hit(_: int) -> int:
        return httpx.get(f"{served.base_url}/health/live", timeout=10).status_code  # a new connection each time

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(hit, range(SENT))) == {200}
    counts = per_process_counts(metrics_folder(served))
    assert len([c for c in counts.values() if c > 0]) == 2, f"both workers should have answered: {counts}"
    assert sum(counts.values()) == SENT
    for _ in range(6):  # whichever worker answers the scrape, it reports both
        response = httpx.get(f"{served.base_url}/metrics")
        assert response.status_code == 200
        assert live_count(response.text) == SENT
    pool_max = [
        s.value
        for f in text_string_to_metric_families(response.text)
        for s in f.samples
        if s.name == "segment_service_db_pool_max"
    ]
    assert pool_max == [20.0]  # two workers of 10


def test_every_log_line_is_json_with_the_access_log(served: Served) -> None:
    segment = f"{served.base_url}/customer-segment/mytenant/segments/some-id"
    answer = httpx.get(segment, headers={"X-Request-ID": "serve-test-1"})
    assert answer.status_code == 401
    assert answer.headers["x-request-id"] == "serve-test-1"
    deadline = time.monotonic() + 10
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in served.stderr.read_text().splitlines()]
        if any(line.get("request_id") == "serve-test-1" for line in lines):
            break
        time.sleep(0.1)
    [access] = [line for line in lines if line.get("request_id") == "serve-test-1"]
    assert {k: access[k] for k in ("logger", "level", "method", "route", "status", "tenant")} == {
        "logger": "segment_service.access",
        "level": "INFO",
        "method": "GET",
        "route": "/customer-segment/{tenant}/segments/{segmentId}",
        "status": 401,
        "tenant": "mytenant",
    }
    # Startup lines are JSON too (the migrations of the fresh database).
    assert any(line["message"] == "applied migration 0001_foundation" for line in lines)


def test_the_metrics_folder_goes_with_the_run(served: Served) -> None:
    folder = metrics_folder(served)
    assert folder.is_dir()
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=30)
    assert not folder.exists()
