"""The Webhook Service's operations: the HTTP configuration, event subscriptions, statistics, and the delivery log
with replay (docs/webhooks.md)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import msgspec

from segment_service.core.auth import Caller
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, Conflict, NotFound
from segment_service.core.paging import Page
from segment_service.core.timefmt import as_utc, iso
from segment_service.webhooks import catalogue, delivery_store, store
from segment_service.webhooks.config_patch import apply_patch, assign_ids
from segment_service.webhooks.models import HTTP, Checker, ConfigSpec, http_only, render_config

_decoder = msgspec.json.Decoder()
MAX_SUBSCRIPTION_ITEMS = 100
DELIVERY_STATUSES = ("PENDING", "DELIVERED", "FAILED", "CANCELLED")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_VERSION_CONFLICT = (
    "Unique constraint violation for provided eventType and metadata version. It is possible to update an "
    "eventsubscription only by always providing the latest version. Fetch the event subscriptions to get the latest "
    "version."
)


def _not_found(code: str) -> NotFound:
    return NotFound(f"The tenant has no webhook configuration of type {code!r}.")


def _code(code: str) -> None:
    if code in ("svix", "svix_shared"):
        raise http_only()
    if code != HTTP:
        raise NotFound(f"There is no webhook configuration type {code!r}; this service has 'http' only.")


async def create_config(db: Database, caller: Caller, body: Any, *, public_only: bool) -> dict[str, str]:
    checker = Checker(public_only=public_only)
    raw = checker.object(body, "body")
    code = raw.get("code")
    if not isinstance(code, str):
        raise BadRequest("code is required: 'http'.", field="code")
    checker.provider(raw, code)
    spec = checker.configuration(
        raw.get("configuration"), active=checker.boolean(raw.get("active"), "active", True), ids_allowed=False
    )
    for entry in spec.entries:
        entry.id = str(uuid.uuid4())
    async with db.transaction() as conn:
        await store.insert_config(conn, caller.tenant, spec)
    return {"code": HTTP}


async def list_configs(db: Database, caller: Caller) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        spec = await store.get_config(conn, caller.tenant)
    return [] if spec is None else [render_config(spec)]


async def get_config(db: Database, caller: Caller, code: str) -> dict[str, Any]:
    _code(code)
    async with db.connection() as conn:
        spec = await store.get_config(conn, caller.tenant)
    if spec is None:
        raise _not_found(code)
    return render_config(spec)


async def _store_changed(db: Database, caller: Caller, code: str, change: Any) -> None:
    """Apply `change(stored) -> new` to the locked configuration and store it; cancel pending deliveries of the
    endpoints the change removed or deactivated."""
    async with db.transaction() as conn:
        stored = await store.lock_config(conn, caller.tenant)
        if stored is None:
            raise _not_found(code)
        new: ConfigSpec = change(stored)
        await store.replace_config(conn, caller.tenant, new)
        gone = stored.active_endpoints() - new.active_endpoints()
        if gone:
            await store.cancel_pending(conn, caller.tenant, sorted(gone))


async def replace_config(db: Database, caller: Caller, code: str, body: Any, *, public_only: bool) -> None:
    _code(code)
    checker = Checker(public_only=public_only)
    raw = checker.object(body, "body")
    checker.provider(raw, raw.get("code") if isinstance(raw.get("code"), str) else None)
    sent = checker.configuration(
        raw.get("configuration"), active=checker.boolean(raw.get("active"), "active", True), ids_allowed=True
    )

    def change(stored: ConfigSpec) -> ConfigSpec:
        sent.entries = assign_ids(stored.entries, sent.entries)
        return sent

    await _store_changed(db, caller, code, change)


async def patch_config(db: Database, caller: Caller, code: str, body: Any, *, public_only: bool) -> None:
    _code(code)
    checker = Checker(public_only=public_only)
    await _store_changed(db, caller, code, lambda stored: apply_patch(checker, stored, body))


async def delete_config(db: Database, caller: Caller, code: str, *, force: bool) -> None:
    if code in ("svix", "svix_shared"):
        raise http_only()
    if code != HTTP:
        return  # no configuration of that type can exist: there is nothing to delete
    async with db.transaction() as conn:
        stored = await store.lock_config(conn, caller.tenant)
        if stored is None:
            return
        if stored.active and not force:
            raise BadRequest(
                "The webhook configuration is active: deactivate it first (PATCH /active false) or delete it with "
                "force=true.",
                field="force",
            )
        await store.cancel_pending(conn, caller.tenant, None)
        await store.delete_config(conn, caller.tenant)


# --- event subscriptions ----------------------------------------------------------------------------------------


async def list_subscriptions(db: Database, caller: Caller) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        saved = await store.subscriptions(conn, caller.tenant)
    items = []
    for event in catalogue.catalogue():
        subscription = saved.get(event.type)
        item: dict[str, Any] = {
            "event": {
                "type": event.type,
                "name": event.name,
                "group": event.group,
                "description": event.description,
                "eventSchema": event.event_schema,
            },
            "metadata": {},
            "subscription": "NONE",
        }
        if subscription is not None:
            item["metadata"] = {
                "version": subscription.version,
                "createdAt": iso(subscription.created_at),
                "modifiedAt": iso(subscription.modified_at),
            }
            item["subscription"] = "SUBSCRIBED" if subscription.subscribed else "UNSUBSCRIBED"
            item["excludedFields"] = subscription.excluded_fields
        items.append(item)
    return items


def _result(event_type: Any, code: int, message: str | None = None) -> dict[str, Any]:
    status = {200: "OK", 400: "BAD_REQUEST", 404: "NOT_FOUND", 409: "CONFLICT"}[code]
    result: dict[str, Any] = {"eventType": event_type, "code": code, "status": status}
    if message:
        result["message"] = message
    return result


async def update_subscriptions(db: Database, caller: Caller, body: Any) -> list[dict[str, Any]]:
    """Each item on its own: 200, or 400/404/409 with a message (207 for the whole)."""
    if not isinstance(body, list) or not body:
        raise BadRequest("The body must be a non-empty list of subscription changes.")
    if len(body) > MAX_SUBSCRIPTION_ITEMS:
        raise BadRequest(f"The body has {len(body)} items; at most {MAX_SUBSCRIPTION_ITEMS} are allowed.")
    results = []
    async with db.transaction() as conn:
        saved = await store.subscriptions(conn, caller.tenant, lock=True)
        for item in body:
            results.append(await _update_one(conn, caller.tenant, saved, item))
    return results


async def _update_one(conn: Connection, tenant: str, saved: dict[str, store.Subscription], item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("eventType"), str):
        return _result(None, 400, "Each item must be an object with an eventType.")
    raw_type = item["eventType"]
    event = catalogue.find(raw_type)
    if event is None:
        return _result(raw_type, 404, f"{raw_type!r} is not an event this service publishes.")
    action = item.get("action")
    if action not in (None, "SUBSCRIBE", "UNSUBSCRIBE"):
        return _result(raw_type, 400, "action must be SUBSCRIBE or UNSUBSCRIBE.")
    fields: dict[str, list[str]] = {}
    for key in ("fieldsToSubscribe", "fieldsToUnsubscribe"):
        value = item.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _result(raw_type, 400, f"{key} must be a list of field names.")
        unknown = [v for v in value if v not in event.event_schema]
        if unknown:
            return _result(
                raw_type, 400, f"{key}: {', '.join(unknown)} is not a top-level field of {event.type}'s payload."
            )
        fields[key] = value
    metadata = item.get("metadata")
    version = metadata.get("version") if isinstance(metadata, dict) else None
    current = saved.get(event.type)
    if current is not None and version != current.version:
        return _result(raw_type, 409, _VERSION_CONFLICT)
    if current is None and version not in (None, 1):
        return _result(raw_type, 409, _VERSION_CONFLICT)
    excluded = list(current.excluded_fields) if current is not None else []
    excluded = [f for f in excluded if f not in fields["fieldsToSubscribe"]]
    excluded += [f for f in fields["fieldsToUnsubscribe"] if f not in excluded]
    subscribed = (action or ("SUBSCRIBE" if current is None or current.subscribed else "UNSUBSCRIBE")) == "SUBSCRIBE"
    if not await store.save_subscription(
        conn, tenant, event.type, subscribed, excluded, None if current is None else current.version
    ):
        return _result(raw_type, 409, _VERSION_CONFLICT)
    now = datetime.now().astimezone()
    saved[event.type] = store.Subscription(
        subscribed, excluded, 1 if current is None else current.version + 1, now, now
    )
    return _result(raw_type, 200)


# --- statistics and the delivery log ---------------------------------------------------------------------------


def _month(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not _MONTH.fullmatch(value):
        raise BadRequest(f"Invalid {name} {value[:20]!r}: expected a month as YYYY-MM.", field=name)
    return value


async def statistics(db: Database, caller: Caller, from_month: str | None, to_month: str | None) -> dict[str, Any]:
    first, last = _month(from_month, "fromYearMonth"), _month(to_month, "toYearMonth")
    async with db.connection() as conn:
        months = await store.monthly_statistics(conn, caller.tenant, first, last)
    return {"monthStatistics": months}


def delivery_filter(
    event_type: str | None, status: str | None, endpoint: str | None, created_from: str | None, created_to: str | None
) -> delivery_store.DeliveryFilter:
    if status is not None and status not in DELIVERY_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(DELIVERY_STATUSES)}.", field="status")

    def moment(raw: str | None, name: str) -> datetime | None:
        if raw is None or raw == "":
            return None
        try:
            return as_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
        except (ValueError, OverflowError):
            raise BadRequest(f"Invalid {name} {raw[:40]!r}: expected an ISO 8601 date-time.", field=name) from None

    return delivery_store.DeliveryFilter(
        event_type=None if event_type is None else catalogue.normalize(event_type),
        status=status,
        endpoint=endpoint,
        created_from=moment(created_from, "createdFrom"),
        created_to=moment(created_to, "createdTo"),
    )


def _render_delivery(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "eventId": str(row["event_id"]),
        "eventType": row["event_type"],
        "endpoint": row["endpoint"],
        "destinationUrl": row["destination_url"],
        "status": row["status"],
        "attempts": row["attempts"],
        "createdAt": iso(row["created_at"]),
        "nextAttemptAt": iso(row["next_attempt_at"]) if row["status"] == "PENDING" else None,
        "finishedAt": None if row["finished_at"] is None else iso(row["finished_at"]),
        "lastStatusCode": row["last_status_code"],
        "lastError": row["last_error"],
        "payload": _decoder.decode(row["body"]),
        "attemptLog": [
            {
                "attempt": a["attempt"],
                "startedAt": iso(a["started_at"]),
                "statusCode": a["status_code"],
                "durationMs": round(a["duration_ms"], 3),
                "responseExcerpt": a["response_excerpt"],
                "error": a["error"],
            }
            for a in row["attempt_log"]
        ],
    }


async def list_deliveries(
    db: Database, caller: Caller, where: delivery_store.DeliveryFilter, page: Page, with_total: bool
) -> tuple[list[dict[str, Any]], int | None]:
    async with db.connection() as conn:
        rows = await delivery_store.list_deliveries(conn, caller.tenant, where, offset=page.offset, limit=page.size)
        total = await delivery_store.count_deliveries(conn, caller.tenant, where) if with_total else None
    return [_render_delivery(r) for r in rows], total


def _delivery_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"There is no delivery {raw[:60]!r}.") from None


async def get_delivery(db: Database, caller: Caller, delivery_id: str) -> dict[str, Any]:
    async with db.connection() as conn:
        row = await delivery_store.get_delivery(conn, caller.tenant, _delivery_id(delivery_id))
    if row is None:
        raise NotFound(f"There is no delivery {delivery_id[:60]!r}.")
    return _render_delivery(row)


async def retry_delivery(db: Database, caller: Caller, delivery_id: str) -> dict[str, str]:
    async with db.transaction() as conn:
        before = await delivery_store.retry(conn, caller.tenant, _delivery_id(delivery_id))
    if before is None:
        raise NotFound(f"There is no delivery {delivery_id[:60]!r}.")
    if before == "PENDING":
        raise Conflict("The delivery is pending already: the relay attempts it when it is due.")
    return {"id": delivery_id}
