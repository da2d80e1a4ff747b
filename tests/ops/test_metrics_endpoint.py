"""`/metrics`: Prometheus's text format, requests by route template (the fast lane's too), latencies, the pool and
database errors; never a tenant or customer id in a label."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client import values
from prometheus_client.parser import text_string_to_metric_families

from segment_service.core.db import migrate
from segment_service.core.fastlane import FastLane
from segment_service.core.metrics import Metrics
from segment_service.settings import Settings
from tests.factories import INVALID_TOKEN, Api
from tests.ops.ops_helpers import other_database, served, sql
from tests.segments.storefront_helpers import build_shop

SEGMENT = "/customer-segment/{tenant}/segments/{segmentId}"
ITEMS = "/customer-segment/{tenant}/segments/items"


def scrape(client: TestClient[Any], **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def requests(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], route: str, method: str, status: int
) -> float:
    key = ("segment_service_http_requests_total", (("method", method), ("route", route), ("status", str(status))))
    return samples.get(key, 0.0)


def test_requests_are_counted_by_route_template_method_and_status(api: Api, app: FastLane, database_url: str) -> None:
    build_shop(api, database_url)
    customer = api.tokens.customer(api.tenant, "c1")
    before = scrape(api.client)
    assert api.request("GET", "/segments/gold").status_code == 200
    assert api.request("GET", "/segments/gold").status_code == 200
    assert api.request("GET", "/segments/nope").status_code == 404
    answered = app.answered
    assert api.request("GET", "/segments/items", token=customer).status_code == 200
    assert app.answered == answered + 1, "the fast lane answered"
    assert api.client.get("/no/such/path").status_code == 404
    assert api.client.request("BREW", "/customer-segment/x/segments").status_code == 405
    after = scrape(api.client)

    def grew(route: str, method: str, status: int) -> float:
        return requests(after, route, method, status) - requests(before, route, method, status)

    assert grew(SEGMENT, "GET", 200) == 2
    assert grew(SEGMENT, "GET", 404) == 1
    assert grew(ITEMS, "GET", 200) == 1
    assert grew("unmatched", "GET", 404) == 1
    assert grew("unmatched", "other", 405) == 1  # a method no route has is one label value too
    count = ("segment_service_http_request_duration_seconds_count", (("method", "GET"), ("route", ITEMS)))
    assert after[count] - before.get(count, 0.0) == 1
    buckets = [
        labels
        for (name, labels) in after
        if name == "segment_service_http_request_duration_seconds_bucket"
        and ("route", ITEMS) in labels
        and ("method", "GET") in labels
    ]  # other tests of the process may have sent other methods
    assert ("le", "+Inf") in {label for labels in buckets for label in labels}
    assert len(buckets) == 14  # 13 bounds and +Inf

    # Ids of any kind are never label values.
    values = {value for (_, labels) in after for (_, value) in labels}
    for secret in (api.tenant, "c1", "gold", "nope"):
        assert not any(secret in value for value in values), secret


def test_the_pool_is_reported(client: TestClient[FastLane], settings: Settings) -> None:
    samples = scrape(client)
    assert samples[("segment_service_db_pool_max", ())] == settings.pool_max_size
    assert 1 <= samples[("segment_service_db_pool_connections", ())] <= settings.pool_max_size
    # The scrape itself holds no connection. The app's rule evaluator borrows one to poll now and then (right after
    # the app starts, when this test runs first), so a scrape between its polls reads 0.
    deadline = time.monotonic() + 10
    while samples[("segment_service_db_pool_in_use", ())] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        samples = scrape(client)
    assert samples[("segment_service_db_pool_in_use", ())] == 0
    assert samples[("segment_service_db_pool_waiting", ())] == 0


def test_database_errors_are_counted_by_sqlstate_class(settings: Settings, database_url: str) -> None:
    name, url = other_database(database_url)
    asyncio.run(migrate(url))
    key = (
        "segment_service_db_errors_total",
        (("error", "ObjectNotInPrerequisiteStateError"), ("sqlstate_class", "55")),
    )
    with served(settings, database_url=url) as client:
        assert key not in scrape(client)
        sql(database_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        sql(database_url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        try:
            assert client.get("/health/ready").status_code == 503
            assert scrape(client)[key] >= 1
        finally:
            sql(database_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_a_metrics_token_can_be_required(settings: Settings) -> None:
    with served(settings, metrics_token="scrape-secret") as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-secret"}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.json() == {
                "fault": {
                    "faultstring": "The metrics need the token set in SEGMENT_SERVICE_METRICS_TOKEN: "
                    "send 'Authorization: Bearer <token>'.",
                    "detail": INVALID_TOKEN["fault"]["detail"],
                }
            }
        samples = scrape(client, Authorization="Bearer scrape-secret")
        assert requests(samples, "/metrics", "GET", 401) == 3


def test_files_are_used_when_the_folder_is_named_after_prometheus_client_was_imported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`serve` names the folder after its own imports; a server that runs the app in its own process then still
    writes the files the other processes' scrapes read."""
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)  # restored afterwards, for the other tests' apps
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    metrics = Metrics()
    metrics.observe("/health/live", "GET", 200, 0.002)
    assert list(tmp_path.glob("counter_*.db")), "the count is in a file"
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    [sample] = [s for s in families["segment_service_http_requests"].samples if s.name.endswith("_total")]
    assert (sample.labels, sample.value) == ({"route": "/health/live", "method": "GET", "status": "200"}, 1.0)


def test_a_dead_process_keeps_its_counts_and_loses_its_pool_gauges(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A worker killed without a word (kill -9) leaves its files behind: its requests stay counted, its connections
    no longer count as open."""
    worker = (
        "from segment_service.core.metrics import Metrics\n"
        "m = Metrics()\n"
        "m.pool_max.set(10)\n"
        "m.pool_size.set(3)\n"
        "m.observe('/health/live', 'GET', 200, 0.001)\n"
    )
    subprocess.run(
        [sys.executable, "-c", worker],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        check=True,
        timeout=60,
    )
    assert list(tmp_path.glob("gauge_livesum_*.db")), "the dead worker's gauges are on disk"
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(Metrics().render().decode())
        for s in f.samples
    }
    assert (
        samples[
            ("segment_service_http_requests_total", (("method", "GET"), ("route", "/health/live"), ("status", "200")))
        ]
        == 1
    )
    assert samples.get(("segment_service_db_pool_max", ()), 0) == 0
    assert samples.get(("segment_service_db_pool_connections", ()), 0) == 0
