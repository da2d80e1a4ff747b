"""Adversarial tests of the webhooks: hostile input to every endpoint, destinations that slip past the SSRF rules,
filters that take exponential time, tenants reaching each other's data, and replays. A comment marked "Broke"
says how the case got through before it was fixed."""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from litestar.testing import TestClient

from segment_service.app import create_served_app
from segment_service.settings import Settings
from tests.factories import Api, Tokens
from tests.webhooks.helpers import call, configure, subscribe
from tests.webhooks.receiver import Receiver

CREATED = "customer-segment.segment-created"


def _config(**configuration: Any) -> dict[str, Any]:
    return {"code": "http", "active": True, "provider": "HTTP", "configuration": configuration}


def _raw(api: Api, method: str, path: str, text: str) -> Any:
    """Send `text` as the JSON body verbatim (JSON escapes like \\u0000 and lone surrogates reach the server)."""
    return call(api, method, path, content=text.encode(), headers={"Content-Type": "application/json"})


# --- hostile values in configuration bodies ------------------------------------------------------------------------

# String values PostgreSQL or the URL checks cannot take: a NUL character and a lone surrogate (valid JSON escapes,
# not encodable as UTF-8). `@X@` in a body below is replaced by one of them.
HOSTILE = {"nul": "a\\u0000b", "surrogate": "a\\ud800b"}
BODIES: dict[str, dict[str, Any]] = {
    "root secret": _config(secretKey="@X@"),
    "root url": _config(destinationUrl="http://h@X@/"),
    "root url path": _config(destinationUrl="http://127.0.0.1:9/@X@"),
    "root header": _config(headers={"x-a": {"value": "@X@"}}),
    "entry name": _config(eventsConfiguration=[{"eventType": CREATED, "name": "@X@"}]),
    "entry secret": _config(eventsConfiguration=[{"eventType": CREATED, "secretKey": "@X@"}]),
    "entry filter": _config(eventsConfiguration=[{"eventType": CREATED, "filter": "$[?(@.id == '@X@')]"}]),
    "entry excluded": _config(eventsConfiguration=[{"eventType": CREATED, "excludedFields": ["@X@"]}]),
    "entry type": _config(eventsConfiguration=[{"eventType": "@X@"}]),
    "code": {"code": "@X@", "provider": "HTTP"},
}


# Broke ("root url", "nul"): a NUL in a destination URL's host reaches socket.inet_aton, whose ValueError ("embedded
# null character") is not a DestinationRefused: the POST is a 500. Expected: 400. The other cases held.
@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("where", sorted(BODIES))
def test_hostile_strings_in_a_configuration_are_a_400_never_a_500(api: Api, kind: str, where: str) -> None:
    text = json.dumps(BODIES[where]).replace("@X@", HOSTILE[kind])
    response = _raw(api, "POST", "/webhook/{tenant}/config", text)
    assert response.status_code in (201, 400), (text, response.status_code, response.text)


# --- destinations that slip past the SSRF rules ---------------------------------------------------------------------


def _fullwidth(text: str) -> str:
    """`text` with its ASCII digits in their fullwidth forms (U+FF10..) and its dots as ideographic full stops."""
    return "".join(chr(0xFF10 + int(c)) if c.isdigit() else ("\u3002" if c == "." else c) for c in text)


@pytest.mark.parametrize("host", ["169.254.169.254", "169.254.1.1", "0.0.0.0"])
def test_a_refused_address_in_unicode_digits_is_refused_when_configured(api: Api, host: str) -> None:
    # Broke: the host 169.254.169.254 in fullwidth digits (U+FF10..)
    # with ideographic dots (U+3002) passes check_url (neither ipaddress nor inet_aton takes the fullwidth
    # digits, and it is no metadata name), but yarl's IDNA encoding turns the host into the address 169.254.169.254,
    # which aiohttp connects to directly: an IP literal never goes through GuardedResolver. Expected: 400.
    response = call(api, "POST", "/webhook/{tenant}/config", json=_config(destinationUrl=f"http://{_fullwidth(host)}/"))
    assert response.status_code == 400, response.text


def test_public_only_relay_never_sends_to_loopback_written_in_unicode_digits(
    settings: Settings, database_url: str
) -> None:
    # Broke: with SEGMENT_SERVICE_WEBHOOK_PUBLIC_ONLY=true, 127.0.0.1 in fullwidth digits is accepted when configured
    # and the relay delivers to 127.0.0.1: the receiver gets the event. Expected: a 400 when it is configured and,
    # for a URL stored before, "destination refused" in the delivery log with nothing sent. The same host form reaches
    # 169.254.169.254 in the default mode (test above).
    public = dataclasses.replace(
        settings, webhook_deliver=True, webhook_public_only=True, webhook_retry_schedule=(0.3,), webhook_poll_ms=20
    )
    app = create_served_app(public)
    with Receiver().running() as receiver, TestClient(app, raise_server_exceptions=False) as client:
        hooks = Api(client, Tokens(app.state.tokens, database_url), "t" + secrets.token_hex(6))
        plain = call(hooks, "POST", "/webhook/{tenant}/config", json=_config(destinationUrl=receiver.url("/plain")))
        assert plain.status_code == 400  # held: the ASCII form is refused
        sneaky = f"http://{_fullwidth('127.0.0.1')}:{receiver.port}/sneaky"
        response = call(hooks, "POST", "/webhook/{tenant}/config", json=_config(destinationUrl=sneaky))
        if response.status_code == 201:  # the bug: go on and see whether it is sent
            subscribe(hooks, CREATED)
            hooks.create_segment()
            time.sleep(2.0)
        assert receiver.at("/sneaky") == [], "a public-only relay sent a webhook to 127.0.0.1"
        assert response.status_code == 400, response.text


# --- with the delivering app (tests/webhooks/conftest.py) -------------------------------------------------------------


def _other(hooks: Api) -> Api:
    return Api(hooks.client, hooks.tokens, "t" + secrets.token_hex(6))


def _deliveries(api: Api) -> list[dict[str, Any]]:
    response = call(api, "GET", "/webhook/{tenant}/deliveries")
    assert response.status_code == 200, response.text
    return list(response.json())


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- filters that backtrack --------------------------------------------------------------------------------------


def test_a_backtracking_filter_does_not_freeze_the_relay_and_the_api(hooks: Api, receiver: Receiver) -> None:
    # Broke: the nested-repetition check refuses (a+)+ but accepts (a|a)*b, which backtracks exponentially under
    # fullmatch. The dispatcher evaluates filters synchronously on the server's event loop (inside the dispatch
    # transaction, holding the dispatch lock), so one tenant's segment named "aaa…a" freezes every API request of
    # the process and every tenant's deliveries: 26 letters take several seconds, 40 letters days. Expected: the
    # filter is refused when configured (or evaluation is bounded), and the API stays responsive.
    evil = "$[?(@.name =~ /(a|a)*b/ || @.name.en =~ /(a|a)*b/)]"
    entry = {"eventType": CREATED, "destinationUrl": receiver.url(f"/evil-{hooks.tenant}"), "filter": evil}
    response = call(
        hooks,
        "POST",
        "/webhook/{tenant}/config",
        json=_config(destinationUrl=receiver.url("/x"), eventsConfiguration=[entry]),
    )
    if response.status_code == 400:
        return  # refused when configured: what should happen
    assert response.status_code == 201, response.text
    subscribe(hooks, CREATED)
    other = _other(hooks)
    configure(other, receiver.url(f"/victim-{other.tenant}"))
    subscribe(other, CREATED)

    start = time.monotonic()
    hooks.create_segment(name={"en": "a" * 26})
    other.create_segment()
    receiver.wait_for(1, f"/victim-{other.tenant}", timeout=120)
    took = time.monotonic() - start
    # The regex holds the GIL: the whole process stands still, so the freeze shows in the wall time of the sequence.
    assert took < 2.5, f"another tenant's write and delivery took {took:.1f} s while one filter was evaluated"


# --- replay ----------------------------------------------------------------------------------------------------------


def test_a_replayed_delivery_that_fails_is_not_retried_on_the_schedule(hooks: Api, receiver: Receiver) -> None:
    # Broke: docs/webhooks.md says a replayed delivery that fails is not retried on the schedule again, but the relay
    # takes the next delay from the attempt count (next_delay(schedule, attempt)): a delivery delivered at attempt 1
    # and replayed fails at attempt 2 and is retried at attempts 3 and 4. Expected: FAILED after the one replay.
    path = f"/replay-{hooks.tenant}"
    receiver.behave(path, 200, then=500)
    configure(hooks, receiver.url(path))
    subscribe(hooks, CREATED)
    hooks.create_segment()
    _wait(lambda: [d["status"] for d in _deliveries(hooks)] == ["DELIVERED"])
    (delivery,) = _deliveries(hooks)
    assert call(hooks, "POST", f"/webhook/{{tenant}}/deliveries/{delivery['id']}/retry").status_code == 202
    receiver.wait_for(2, path)
    time.sleep(1.5)  # three retry delays of 0.3 s
    (after,) = _deliveries(hooks)
    assert len(receiver.at(path)) == 2, [a["statusCode"] for a in after["attemptLog"]]
    assert after["status"] == "FAILED", after


# --- what held ---------------------------------------------------------------------------------------------------


def test_another_tenants_token_reaches_nothing_of_this_tenant(hooks: Api, receiver: Receiver) -> None:
    path = f"/iso-{hooks.tenant}"
    configure(hooks, receiver.url(path))
    subscribe(hooks, CREATED)
    hooks.create_segment()
    receiver.wait_for(1, path)
    _wait(lambda: len(_deliveries(hooks)) == 1)
    (delivery,) = _deliveries(hooks)
    other = _other(hooks)
    theirs = {"Authorization": f"Bearer {other.token}"}
    for method, suffix in [
        ("GET", "/config"),
        ("GET", "/config/http"),
        ("PUT", "/config/http"),
        ("PATCH", "/config/http"),
        ("DELETE", "/config/http?force=true"),
        ("GET", "/deliveries"),
        ("GET", f"/deliveries/{delivery['id']}"),
        ("POST", f"/deliveries/{delivery['id']}/retry"),
        ("GET", "/event-subscriptions"),
        ("PATCH", "/event-subscriptions"),
        ("GET", "/statistics"),
    ]:
        response = hooks.client.request(method, f"/webhook/{hooks.tenant}{suffix}", headers=theirs, json=[])
        assert response.status_code in (401, 403), (method, suffix, response.status_code, response.text)
    # Their own tenant's view never holds this tenant's delivery.
    assert call(other, "GET", f"/webhook/{{tenant}}/deliveries/{delivery['id']}").status_code == 404
    assert call(other, "POST", f"/webhook/{{tenant}}/deliveries/{delivery['id']}/retry").status_code == 404
    assert _deliveries(other) == []


def test_concurrent_subscription_patches_with_one_version_let_one_win(hooks: Api) -> None:
    subscribe(hooks, CREATED)
    version = next(
        i["metadata"]["version"]
        for i in call(hooks, "GET", "/webhook/{tenant}/event-subscriptions").json()
        if i["event"]["type"] == CREATED
    )
    items = [{"eventType": CREATED, "action": "UNSUBSCRIBE", "metadata": {"version": version}}]
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: call(hooks, "PATCH", "/webhook/{tenant}/event-subscriptions", json=items), range(8))
        )
    codes = sorted(r.json()[0]["code"] for r in results)
    assert codes == [200] + [409] * 7, codes


def test_concurrent_entry_upserts_lose_nothing(hooks: Api, receiver: Receiver) -> None:
    configure(hooks, receiver.url("/unused"))
    op = [{"op": "UPSERT", "path": "/configuration/http/eventsConfigurationEntry", "value": {"eventType": CREATED}}]
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: call(hooks, "PATCH", "/webhook/{tenant}/config/http", json=op), range(10)))
    assert [r.status_code for r in results] == [204] * 10
    entries = call(hooks, "GET", "/webhook/{tenant}/config/http").json()["configuration"]["eventsConfiguration"]
    assert len(entries) == 10


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"op": "UPSERT"}),
        json.dumps([{"op": "UPSERT", "path": "/active", "value": "yes"}]),
        json.dumps([{"op": "UPSERT", "path": "/configuration/http/eventsConfigurationEntry/x/active", "value": 1}]),
        json.dumps([{"op": "REMOVE", "path": "/" * 5000}]),
        json.dumps([{"op": "UPSERT", "path": "/configuration", "value": {"eventsConfiguration": [{}] * 10_000}}]),
        json.dumps([{"op": "UPSERT", "path": "/configuration/http/headers", "value": {"a" * 300: {"value": "x"}}}]),
        json.dumps(
            [
                {
                    "op": "UPSERT",
                    "path": "/configuration/http/destinationUrl",
                    "value": "http://[::ffff:169.254.169.254]/",
                }
            ]
        ),
        json.dumps(
            [{"op": "UPSERT", "path": "/configuration/http/destinationUrl", "value": "http://0251.0376.0251.0376/"}]
        ),
        json.dumps(
            [{"op": "UPSERT", "path": "/configuration/http/destinationUrl", "value": "http://[fe80::1%25eth0]/"}]
        ),
        # Broke: 900 chained `!` are accepted (the depth limit of 32 counts parentheses only), and evaluating the
        # filter recurses ~900 frames: called from a deeper stack (as in the relay) the RecursionError is swallowed
        # and the filter silently matches nothing, so the entry's events are dropped. Expected: 400.
        pytest.param(
            json.dumps(
                [
                    {
                        "op": "UPSERT",
                        "path": "/configuration/http/eventsConfigurationEntry",
                        "value": {"eventType": CREATED, "filter": "$[?(" + "!" * 900 + "@.a)]"},
                    }
                ]
            ),
            id="chained-not",
        ),
        json.dumps(
            [
                {
                    "op": "UPSERT",
                    "path": "/configuration/http/eventsConfigurationEntry",
                    "value": {"eventType": CREATED, "filter": "$[?(" + "(" * 400 + "@.a" + ")" * 400 + ")]"},
                }
            ]
        ),
    ],
)
def test_hostile_patches_are_a_400(api: Api, body: str) -> None:
    configure(api, "http://127.0.0.1:9/hook")
    response = _raw(api, "PATCH", "/webhook/{tenant}/config/http", body)
    assert response.status_code == 400, response.text
