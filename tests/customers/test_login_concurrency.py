"""Right passwords sent at the same moment all log in and leave the account unlocked; wrong ones sent at the same
moment get no more guesses than the limit and lock it. Real concurrency: threads released together against the
app, whose event loop serves them side by side."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.customers.customer_api import PASSWORD, CustomerApi, customer_error
from tests.factories import Tokens, run_sql

from segment_service.customers import login_limit

EMAIL = "jo@example.com"
WRONG = {"fault": {"faultstring": "Invalid email or password", "detail": {"errorcode": "oauth.v2.InvalidCredentials"}}}


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CustomerApi:
    api = CustomerApi(client, tokens, tenant)
    api.signup(EMAIL, firstName="Jo")
    return api


def at_once(api: CustomerApi, passwords: list[str]) -> list[httpx.Response]:
    """One login per password, each from its own thread, all released at the same moment."""
    anonymous = api.anonymous()
    barrier = threading.Barrier(len(passwords))
    responses: list[httpx.Response | None] = [None] * len(passwords)

    def attempt(index: int) -> None:
        barrier.wait()
        responses[index] = api.request(
            "POST", "/login", token=anonymous, json={"email": EMAIL, "password": passwords[index]}
        )

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(passwords))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


def counters(api: CustomerApi, database_url: str) -> dict[str, Any]:
    rows = run_sql(
        database_url,
        "SELECT failed_logins, locked_until IS NOT NULL AS locked, logins_in_flight"
        " FROM customers WHERE tenant = $1 AND contact_email = $2",
        api.tenant,
        EMAIL,
    )
    return dict(rows[0])


def test_right_passwords_at_the_same_moment_all_log_in(api: CustomerApi, database_url: str) -> None:
    responses = at_once(api, [PASSWORD] * 12)
    assert [r.status_code for r in responses] == [200] * 12, [r.text for r in responses if r.status_code != 200]
    assert counters(api, database_url) == {"failed_logins": 0, "locked": False, "logins_in_flight": 0}
    assert api.login(EMAIL).status_code == 200


def test_wrong_passwords_at_the_same_moment_get_only_the_limit_of_guesses(api: CustomerApi, database_url: str) -> None:
    responses = at_once(api, ["wrong-password"] * 12)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * login_limit.FAILURE_LIMIT + [429] * (12 - login_limit.FAILURE_LIMIT)
    assert all(r.json() == WRONG for r in responses if r.status_code == 401)
    assert counters(api, database_url) == {"failed_logins": 5, "locked": True, "logins_in_flight": 0}
    response = api.login(EMAIL)  # the right password, while locked
    assert response.status_code == 429
    assert response.json()["message"].startswith("Too many failed login attempts for this account; try again after ")


def test_a_check_whose_process_died_stops_holding_back_others(
    api: CustomerApi, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(login_limit, "WAIT_SECONDS", 0.3)
    run_sql(
        database_url,
        "UPDATE customers SET logins_in_flight = 5, login_started_at = now() WHERE tenant = $1 AND contact_email = $2",
        api.tenant,
        EMAIL,
    )
    response = api.login(EMAIL)
    assert response.status_code == 429
    assert response.json() == customer_error(
        429, "Other login attempts for this account are being checked; try again in a second.", type="too_many_requests"
    )
    assert response.headers["Retry-After"] == "1"
    run_sql(
        database_url,
        "UPDATE customers SET login_started_at = now() - interval '31 seconds'"
        " WHERE tenant = $1 AND contact_email = $2",
        api.tenant,
        EMAIL,
    )
    assert api.login(EMAIL).status_code == 200
    assert counters(api, database_url)["logins_in_flight"] == 0
