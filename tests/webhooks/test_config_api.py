"""The Webhook Service's configuration, subscription, statistics and delivery-log API: what a client sends and
gets, and every way it can be refused."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest

from segment_service.core.auth import Scope
from tests.factories import Api, Tokens, run_sql
from tests.webhooks.helpers import call, configure, subscribe

READ = (Scope.WEBHOOK_SUBSCRIPTION_READ.value,)
MANAGE = (Scope.WEBHOOK_SUBSCRIPTION_MANAGE.value,)
CREATED = "customer-segment.segment-created"


def _config(**configuration: Any) -> dict[str, Any]:
    return {"code": "http", "active": True, "provider": "HTTP", "configuration": configuration}


def _error(response: Any, status: int, says: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == status
    assert isinstance(body["details"], list)
    assert says in body["message"], body
    return body


def test_create_get_and_list_never_show_a_secret(api: Api) -> None:
    entry = {
        "eventType": "PRODUCT.CREATED",
        "destinationUrl": "https://erp.example.com/hook",
        "secretKey": "entry-secret",
        "filter": "$[?(@.code == 'abc')]",
        "excludedFields": ["metadata"],
        "headers": {"x-erp": {"value": "1"}},
        "name": "ERP integration",
    }
    response = call(
        api,
        "POST",
        "/webhook/{tenant}/config",
        json=_config(
            destinationUrl="https://hooks.example.com/all",
            secretKey="root-secret",
            headers={"header1": {"value": "value1"}},
            eventsConfiguration=[entry, {"eventType": "product.created", "destinationUrl": "https://b.example.com/"}],
        ),
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"code": "http"}
    got = call(api, "GET", "/webhook/{tenant}/config/http").json()
    assert got["code"] == "http" and got["provider"] == "HTTP" and got["active"] is True  # noqa: PT018
    configuration = got["configuration"]
    assert configuration["destinationUrl"] == "https://hooks.example.com/all"
    assert configuration["secretKeyExists"] is True
    assert "root-secret" not in str(got)
    assert "entry-secret" not in str(got)
    first, second = configuration["eventsConfiguration"]
    uuid.UUID(first["id"])
    assert first["eventType"] == "product.created"
    assert first["secretKeyExists"] is True
    assert first["filter"] == entry["filter"]
    assert first["excludedFields"] == ["metadata"]
    assert first["name"] == "ERP integration"
    assert first["active"] is True
    assert second["excludedFields"] is None  # inherit the subscription's
    assert second["secretKeyExists"] is False
    assert call(api, "GET", "/webhook/{tenant}/config").json() == [got]


def test_one_configuration_per_type_and_svix_is_refused(api: Api) -> None:
    configure(api, "http://127.0.0.1:9/hook")
    _error(
        call(api, "POST", "/webhook/{tenant}/config", json=_config(destinationUrl="http://127.0.0.1:9/")),
        409,
        "already",
    )
    svix = {"code": "svix", "active": True, "provider": "SVIX", "configuration": {"apiKey": "x"}}
    _error(call(api, "POST", "/webhook/{tenant}/config", json=svix), 400, "HTTP only")
    shared = {"code": "svix_shared", "active": True, "provider": "SVIX_SHARED", "configuration": {}}
    _error(call(api, "POST", "/webhook/{tenant}/config", json=shared), 400, "HTTP only")
    _error(call(api, "GET", "/webhook/{tenant}/config/svix"), 400, "HTTP only")
    _error(call(api, "GET", "/webhook/{tenant}/config/other"), 404, "'http' only")


@pytest.mark.parametrize(
    ("configuration", "says"),
    [
        ({"destinationUrl": "http://169.254.169.254/latest"}, "metadata"),
        ({"destinationUrl": "ftp://example.com/"}, "http:// or https://"),
        ({"destinationUrl": 5}, "must be a string"),
        ({"headers": {f"h{i}": {"value": "v"} for i in range(11)}}, "at most 10"),
        ({"headers": {"bad header": {"value": "v"}}}, "header name"),
        ({"headers": {"x": {"value": "a\r\nInjected: 1"}}}, "line breaks"),
        ({"headers": {"x": "plain"}}, '{"value"'),
        ({"eventsConfiguration": [{"eventType": "cart.created"}]}, "not an event this service publishes"),
        ({"eventsConfiguration": [{"eventType": CREATED, "id": "mine"}]}, "assigned by the server"),
        ({"eventsConfiguration": [{"eventType": CREATED, "filter": "$.status"}]}, "JsonPath"),
        ({"eventsConfiguration": [{"eventType": CREATED, "excludedFields": [" "]}]}, "non-blank"),
        ({"eventsConfiguration": [{"eventType": CREATED, "name": "n" * 256}]}, "255"),
        ({"eventsConfiguration": [{"eventType": CREATED}] * 101}, "at most 100"),
        ({"eventsConfiguration": {"eventType": CREATED}}, "list"),
        ({"secretKey": "s" * 1025}, "longer than"),
    ],
)
def test_bad_configurations_are_400_naming_the_problem(api: Api, configuration: dict[str, Any], says: str) -> None:
    _error(call(api, "POST", "/webhook/{tenant}/config", json=_config(**configuration)), 400, says)
    assert call(api, "GET", "/webhook/{tenant}/config").json() == []


@pytest.mark.parametrize(
    "body",
    [[], "text", {"code": "http", "provider": "HTTP", "active": "yes"}, {"provider": "HTTP"}, {"code": "http"}],
)
def test_malformed_bodies_are_400(api: Api, body: Any) -> None:
    response = call(api, "POST", "/webhook/{tenant}/config", json=body)
    assert response.status_code == 400, response.text


def test_a_body_that_is_not_json_is_400(api: Api) -> None:
    response = call(
        api, "POST", "/webhook/{tenant}/config", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_public_only_refuses_private_destinations(settings: Any, database_url: str) -> None:
    import dataclasses

    from litestar.testing import TestClient

    from segment_service.app import create_served_app

    app = create_served_app(dataclasses.replace(settings, webhook_public_only=True))
    with TestClient(app, raise_server_exceptions=False) as client:
        shared = Api(client, Tokens(app.state.tokens, database_url), "t" + secrets.token_hex(6))
        body = _config(destinationUrl="http://127.0.0.1:8080/hook")
        _error(call(shared, "POST", "/webhook/{tenant}/config", json=body), 400, "PUBLIC_ONLY is set")
        body = _config(destinationUrl="http://10.0.0.5/hook")
        _error(call(shared, "POST", "/webhook/{tenant}/config", json=body), 400, "PUBLIC_ONLY is set")
        assert (
            call(
                shared, "POST", "/webhook/{tenant}/config", json=_config(destinationUrl="https://example.com/")
            ).status_code
            == 201
        )


def test_put_keeps_known_ids_and_refuses_unknown_ones(api: Api) -> None:
    configure(api, "http://127.0.0.1:9/", entries=[{"eventType": CREATED}, {"eventType": "product.created"}])
    entries = call(api, "GET", "/webhook/{tenant}/config/http").json()["configuration"]["eventsConfiguration"]
    first, second = entries[0]["id"], entries[1]["id"]
    body = _config(
        destinationUrl="http://127.0.0.1:9/",
        eventsConfiguration=[
            {"id": first, "eventType": CREATED, "name": "kept"},
            {"eventType": "product.created"},  # one stored, one sent: the legacy rule reuses its id
            {"eventType": "product.deleted"},
        ],
    )
    response = call(api, "PUT", "/webhook/{tenant}/config/http", json=body)
    assert response.status_code == 204, response.text
    after = call(api, "GET", "/webhook/{tenant}/config/http").json()["configuration"]["eventsConfiguration"]
    assert [e["id"] for e in after][:2] == [first, second]
    assert after[0]["name"] == "kept"
    assert after[2]["id"] not in (first, second)

    body["configuration"]["eventsConfiguration"] = [{"id": str(uuid.uuid4()), "eventType": CREATED}]
    _error(call(api, "PUT", "/webhook/{tenant}/config/http", json=body), 400, "no entry with id")
    body["configuration"]["eventsConfiguration"] = [{"id": first, "eventType": CREATED}] * 2
    _error(call(api, "PUT", "/webhook/{tenant}/config/http", json=body), 400, "more than once")


def test_put_and_patch_of_a_missing_configuration_are_404(api: Api) -> None:
    _error(call(api, "PUT", "/webhook/{tenant}/config/http", json=_config()), 404, "no webhook configuration")
    ops = [{"op": "UPSERT", "path": "/active", "value": False}]
    _error(call(api, "PATCH", "/webhook/{tenant}/config/http", json=ops), 404, "no webhook configuration")


def test_patch_operations(api: Api) -> None:
    configure(api, "http://127.0.0.1:9/", entries=[{"eventType": CREATED}, {"eventType": CREATED}])
    entries = call(api, "GET", "/webhook/{tenant}/config/http").json()["configuration"]["eventsConfiguration"]
    first = entries[0]["id"]
    ops = [
        {"op": "UPSERT", "path": "/configuration/http/destinationUrl", "value": "https://example.com/root"},
        {"op": "UPSERT", "path": "/configuration/http/headers", "value": {"h": {"value": "1"}}},
        {"op": "UPSERT", "path": f"/configuration/http/eventsConfigurationEntry/{first}/active", "value": False},
        {"op": "UPSERT", "path": f"/configuration/http/eventsConfigurationEntry/{first}/name", "value": "ERP"},
        {
            "op": "UPSERT",
            "path": "/configuration/http/eventsConfigurationEntry",
            "value": {"eventType": "product.updated", "filter": "$[?(@.published == true)]"},
        },
        {
            "op": "UPSERT",
            "path": "/configuration/http/eventsConfiguration/product.deleted",
            "value": {"eventType": "product.deleted"},
        },
        {"op": "REMOVE", "path": "/configuration/http/secretKey"},
    ]
    assert call(api, "PATCH", "/webhook/{tenant}/config/http", json=ops).status_code == 204
    got = call(api, "GET", "/webhook/{tenant}/config/http").json()["configuration"]
    assert got["destinationUrl"] == "https://example.com/root"
    assert got["headers"] == {"h": {"value": "1"}}
    by_id = {e["id"]: e for e in got["eventsConfiguration"]}
    assert by_id[first]["active"] is False
    assert by_id[first]["name"] == "ERP"
    assert [e["eventType"] for e in got["eventsConfiguration"]][2:] == ["product.updated", "product.deleted"]

    # The legacy event-type paths refuse to guess between two entries of one type.
    legacy = [
        {
            "op": "UPSERT",
            "path": f"/configuration/http/eventsConfiguration/{CREATED}/destinationUrl",
            "value": "https://x.example.com/",
        }
    ]
    _error(call(api, "PATCH", "/webhook/{tenant}/config/http", json=legacy), 409, "2 entries")
    # All or nothing: a bad operation after a good one changes nothing.
    ops = [
        {"op": "UPSERT", "path": "/active", "value": False},
        {
            "op": "UPSERT",
            "path": "/configuration/http/eventsConfigurationEntry",
            "value": {"eventType": CREATED, "id": "x"},
        },
    ]
    _error(call(api, "PATCH", "/webhook/{tenant}/config/http", json=ops), 400, "operation 1")
    assert call(api, "GET", "/webhook/{tenant}/config/http").json()["active"] is True
    for bad, says in [
        ([{"op": "REMOVE", "path": "/configuration/http/eventsConfigurationEntry"}], "needs an entry id"),
        ([{"op": "UPSERT", "path": "/configuration/svix/apiKey", "value": "k"}], "HTTP only"),
        ([{"op": "UPSERT", "path": "/nope", "value": 1}], "unknown path"),
        ([{"op": "MOVE", "path": "/active", "value": True}], "UPSERT or REMOVE"),
        ([{"op": "UPSERT", "path": "/active"}], "needs a value"),
        (
            [{"op": "UPSERT", "path": "/configuration/http/eventsConfigurationEntry/nope/name", "value": "x"}],
            "no entry",
        ),
        ({"op": "UPSERT"}, "non-empty list"),
        ([{"op": "UPSERT", "path": "/active", "value": True}] * 101, "at most 100"),
    ]:
        _error(call(api, "PATCH", "/webhook/{tenant}/config/http", json=bad), 400, says)


def test_delete_needs_force_while_active_and_cancels_pending_deliveries(api: Api, database_url: str) -> None:
    configure(api, "http://127.0.0.1:9/")
    _error(call(api, "DELETE", "/webhook/{tenant}/config/http"), 400, "force=true")
    _pending_delivery(database_url, api.tenant)
    assert call(api, "DELETE", "/webhook/{tenant}/config/http?force=true").status_code == 204
    assert call(api, "GET", "/webhook/{tenant}/config").json() == []
    assert call(api, "DELETE", "/webhook/{tenant}/config/http").status_code == 204  # nothing left: fine
    (status,) = run_sql(database_url, "SELECT status FROM webhook_deliveries WHERE tenant = $1", api.tenant)
    assert status["status"] == "CANCELLED"


def _pending_delivery(database_url: str, tenant: str, endpoint: str = "root") -> str:
    event_id, delivery_id = uuid.uuid4(), uuid.uuid4()
    run_sql(
        database_url,
        "INSERT INTO webhook_events (id, tenant, event_type, ordering_key, payload, created_at)"
        " VALUES ($1, $2, $3, 'segment_id:s', '{\"id\": \"s\"}', now())",
        event_id,
        tenant,
        CREATED,
    )
    run_sql(
        database_url,
        "INSERT INTO webhook_deliveries (id, tenant, event_seq, event_id, event_type, endpoint, ordering_key,"
        " destination_url, body, status, next_attempt_at)"
        " SELECT $1, $2, seq, id, event_type, $3, ordering_key, 'http://127.0.0.1:9/', '{\"id\": \"s\"}', 'PENDING',"
        " now() + interval '1 day' FROM webhook_events WHERE id = $4",
        delivery_id,
        tenant,
        endpoint,
        event_id,
    )
    return str(delivery_id)


def test_deactivating_an_entry_cancels_its_pending_deliveries(api: Api, database_url: str) -> None:
    configure(api, "http://127.0.0.1:9/", entries=[{"eventType": CREATED}])
    (entry,) = call(api, "GET", "/webhook/{tenant}/config/http").json()["configuration"]["eventsConfiguration"]
    mine, root = _pending_delivery(database_url, api.tenant, entry["id"]), _pending_delivery(database_url, api.tenant)
    ops = [
        {"op": "UPSERT", "path": f"/configuration/http/eventsConfigurationEntry/{entry['id']}/active", "value": False}
    ]
    assert call(api, "PATCH", "/webhook/{tenant}/config/http", json=ops).status_code == 204
    statuses = {r["id"]: r["status"] for r in call(api, "GET", "/webhook/{tenant}/deliveries").json()}
    assert statuses == {mine: "CANCELLED", root: "PENDING"}


def test_subscriptions_list_the_catalogue_and_check_versions(api: Api) -> None:
    catalogue = call(api, "GET", "/webhook/{tenant}/event-subscriptions").json()
    types = [item["event"]["type"] for item in catalogue]
    assert CREATED in types and "customer.deleted" in types and "assignment.created" in types  # noqa: PT018
    assert all(item["subscription"] == "NONE" and item["metadata"] == {} for item in catalogue)
    item = next(i for i in catalogue if i["event"]["type"] == CREATED)
    assert set(item["event"]["eventSchema"]) >= {"id", "name", "status", "tenant"}
    assert item["event"]["group"] == {"en": "Customer Segment"}

    subscribe(api, CREATED, fieldsToUnsubscribe=["description", "validity"])
    response = call(
        api,
        "PATCH",
        "/webhook/{tenant}/event-subscriptions",
        json=[
            {
                "eventType": CREATED,
                "action": "SUBSCRIBE",
                "fieldsToSubscribe": ["validity"],
                "metadata": {"version": 1},
            },
            {"eventType": CREATED, "action": "UNSUBSCRIBE", "metadata": {"version": 1}},  # stale now
            {"eventType": "cart.created", "action": "SUBSCRIBE"},
            {"eventType": "product.created", "action": "SUBSCRIBE", "fieldsToUnsubscribe": ["nope"]},
            {"eventType": "product.updated", "action": "LATER"},
            "not an object",
        ],
    )
    assert response.status_code == 207
    assert [r["code"] for r in response.json()] == [200, 409, 404, 400, 400, 400]
    assert "latest version" in response.json()[1]["message"]
    item = next(
        i for i in call(api, "GET", "/webhook/{tenant}/event-subscriptions").json() if i["event"]["type"] == CREATED
    )
    assert item["subscription"] == "SUBSCRIBED"
    assert item["excludedFields"] == ["description"]
    assert item["metadata"]["version"] == 2
    bodies: list[Any] = [{}, [], [{"eventType": CREATED}] * 101]
    for bad in bodies:
        assert call(api, "PATCH", "/webhook/{tenant}/event-subscriptions", json=bad).status_code == 400


def test_statistics_count_delivered_events_per_month(api: Api, database_url: str) -> None:
    run_sql(
        database_url,
        "INSERT INTO webhook_statistics (tenant, month, event_type, delivered) VALUES"
        " ($1, '2026-11', $2, 3), ($1, '2026-11', 'product.created', 2), ($1, '2026-12', $2, 1)",
        api.tenant,
        CREATED,
    )
    got = call(api, "GET", "/webhook/{tenant}/statistics").json()
    assert got["monthStatistics"][0] == {
        "statisticsMonth": "2026-12",
        "succesfullySentWebhooks": 1,
        "eventTypes": {CREATED: 1},
    }
    assert got["monthStatistics"][1]["succesfullySentWebhooks"] == 5
    only = call(api, "GET", "/webhook/{tenant}/statistics?fromYearMonth=2026-11&toYearMonth=2026-11").json()
    assert [m["statisticsMonth"] for m in only["monthStatistics"]] == ["2026-11"]
    _error(call(api, "GET", "/webhook/{tenant}/statistics?fromYearMonth=2026-13"), 400, "YYYY-MM")


def test_the_delivery_log_filters_pages_and_replays(api: Api, database_url: str) -> None:
    first, second = _pending_delivery(database_url, api.tenant), _pending_delivery(database_url, api.tenant)
    run_sql(database_url, "UPDATE webhook_deliveries SET status = 'FAILED' WHERE id = $1", uuid.UUID(first))
    log = call(api, "GET", "/webhook/{tenant}/deliveries").json()
    assert [d["id"] for d in log] == [second, first]
    assert log[1]["payload"] == {"id": "s"}
    failed = call(api, "GET", "/webhook/{tenant}/deliveries?status=FAILED", headers={"X-Total-Count": "true"})
    assert [d["id"] for d in failed.json()] == [first]
    assert failed.headers["X-Total-Count"] == "1"
    assert (
        call(api, "GET", f"/webhook/{{tenant}}/deliveries?eventType={CREATED.upper()}&pageSize=1").json()[0]["id"]
        == second
    )
    assert call(api, "GET", "/webhook/{tenant}/deliveries?createdFrom=2100-01-01T00:00:00Z").json() == []
    _error(call(api, "GET", "/webhook/{tenant}/deliveries?status=LOST"), 400, "status must be")
    _error(call(api, "GET", "/webhook/{tenant}/deliveries?createdFrom=yesterday"), 400, "ISO 8601")
    assert call(api, "GET", f"/webhook/{{tenant}}/deliveries/{first}").json()["status"] == "FAILED"

    response = call(api, "POST", f"/webhook/{{tenant}}/deliveries/{first}/retry")
    assert response.status_code == 202, response.text
    # Due at once: a relay on this database (another test's app) may already have tried it.
    assert call(api, "GET", f"/webhook/{{tenant}}/deliveries/{first}").json()["status"] in ("PENDING", "FAILED")
    # `second` is pending and due tomorrow: no relay takes it.
    _error(call(api, "POST", f"/webhook/{{tenant}}/deliveries/{second}/retry"), 409, "pending already")
    _error(call(api, "POST", f"/webhook/{{tenant}}/deliveries/{uuid.uuid4()}/retry"), 404, "no delivery")
    _error(call(api, "GET", "/webhook/{tenant}/deliveries/not-a-uuid"), 404, "no delivery")


def test_another_tenants_configuration_and_deliveries_stay_out_of_reach(api: Api, database_url: str) -> None:
    configure(api, "http://127.0.0.1:9/")
    delivery = _pending_delivery(database_url, api.tenant)
    other = Api(api.client, api.tokens, "t" + secrets.token_hex(6))
    assert call(other, "GET", "/webhook/{tenant}/config").json() == []
    _error(call(other, "GET", f"/webhook/{{tenant}}/deliveries/{delivery}"), 404, "no delivery")
    _error(call(other, "POST", f"/webhook/{{tenant}}/deliveries/{delivery}/retry"), 404, "no delivery")
    assert call(other, "GET", "/webhook/{tenant}/deliveries").json() == []
    # A token of the other tenant on this tenant's paths is refused outright.
    foreign = {"Authorization": f"Bearer {other.token}"}
    response = api.client.get(f"/webhook/{api.tenant}/config", headers=foreign)
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(
    ("method", "path", "needs"),
    [
        ("GET", "/webhook/{tenant}/config", "read"),
        ("GET", "/webhook/{tenant}/config/http", "read"),
        ("GET", "/webhook/{tenant}/event-subscriptions", "read"),
        ("GET", "/webhook/{tenant}/statistics", "read"),
        ("GET", "/webhook/{tenant}/deliveries", "read"),
        ("POST", "/webhook/{tenant}/config", "manage"),
        ("PUT", "/webhook/{tenant}/config/http", "manage"),
        ("PATCH", "/webhook/{tenant}/config/http", "manage"),
        ("DELETE", "/webhook/{tenant}/config/http", "manage"),
        ("PATCH", "/webhook/{tenant}/event-subscriptions", "manage"),
        ("POST", "/webhook/{tenant}/deliveries/00000000-0000-4000-8000-000000000000/retry", "manage"),
    ],
)
def test_scopes(api: Api, method: str, path: str, needs: str) -> None:
    none = api.tokens.service(api.tenant, ("customersegment.segment_read",))
    read = api.tokens.service(api.tenant, READ)
    url = path.replace("{tenant}", api.tenant)
    assert api.client.request(method, url, headers={"Authorization": f"Bearer {none}"}, json=[]).status_code == 403
    with_read = api.client.request(method, url, headers={"Authorization": f"Bearer {read}"}, json=[]).status_code
    assert (with_read != 403) if needs == "read" else (with_read == 403)
    assert api.client.request(method, url, json=[]).status_code == 401
