"""PATCH of a webhook configuration: webhook.yml's list of `{op: UPSERT|REMOVE, path, value}` applied to a copy of
the stored configuration, all or nothing (docs/webhooks.md#configuration-api). Pure: the service stores the result."""

from __future__ import annotations

import uuid
from typing import Any

from segment_service.core.errors import BadRequest, Conflict, NotFound
from segment_service.webhooks import catalogue
from segment_service.webhooks.models import MAX_ENTRIES, Checker, ConfigSpec, EntrySpec, copy, http_only

MAX_OPERATIONS = 100
_HTTP = "/configuration/http"
_ENTRY_FIELDS = ("destinationUrl", "secretKey", "headers", "filter", "excludedFields", "name", "active")
_LEGACY_FIELDS = ("destinationUrl", "secretKey", "headers")


def assign_ids(stored: list[EntrySpec], sent: list[EntrySpec]) -> list[EntrySpec]:
    """Entry ids for a replacement list: a sent id must name a stored entry; an id-less entry gets a new id, or the
    stored one when the stored and the sent list each have exactly one entry of its event type (webhook.yml's rule
    for payloads without ids)."""
    known = {e.id for e in stored}
    for entry in sent:
        if entry.id is not None and entry.id not in known:
            raise BadRequest(
                f"eventsConfiguration: there is no entry with id {entry.id!r}; omit the id to create a new entry.",
                field="eventsConfiguration",
            )
    taken = {e.id for e in sent if e.id is not None}
    for entry in sent:
        if entry.id is not None:
            continue
        stored_of_type = [e for e in stored if e.event_type == entry.event_type]
        sent_of_type = [e for e in sent if e.event_type == entry.event_type]
        reused = stored_of_type[0].id if len(stored_of_type) == 1 and len(sent_of_type) == 1 else None
        entry.id = reused if reused is not None and reused not in taken else str(uuid.uuid4())
        taken.add(entry.id)
    return sent


def _set_entry_field(checker: Checker, entry: EntrySpec, name: str, op: str, value: Any, where: str) -> None:
    remove = op == "REMOVE"
    if name == "destinationUrl":
        entry.destination_url = None if remove else checker.url(value, where)
    elif name == "secretKey":
        entry.secret_key = None if remove else (checker.text(value, where, limit=1024) or None)
    elif name == "headers":
        entry.headers = None if remove else checker.headers(value, where)
    elif name == "filter":
        entry.filter = None if remove else checker.filter(value, where)
    elif name == "excludedFields":
        entry.excluded_fields = None if remove else checker.field_names(value, where)
    elif name == "name":
        entry.name = None if remove else checker.text(value, where, limit=255)
    elif name == "active":
        if remove or not isinstance(value, bool):
            raise BadRequest(f"{where}: UPSERT a value true or false.", field=where)
        entry.active = value


def _replace_entry(checker: Checker, entry: EntrySpec, value: Any, where: str) -> None:
    new = checker.entry(value, where, ids_allowed=True)
    if new.id is not None and new.id != entry.id:
        raise BadRequest(f"{where}: an entry's id cannot change.", field=where)
    new.id = entry.id
    entry.__dict__.update(new.__dict__)


def _one_of_type(spec: ConfigSpec, event_type: str, where: str) -> EntrySpec | None:
    wanted = catalogue.normalize(event_type)
    found = [e for e in spec.entries if e.event_type == wanted]
    if len(found) > 1:
        raise Conflict(
            f"{where}: {len(found)} entries have event type {wanted}; address one by its id under "
            "/configuration/http/eventsConfigurationEntry/{entryId}."
        )
    return found[0] if found else None


def _apply(checker: Checker, spec: ConfigSpec, op: str, path: str, value: Any, where: str) -> None:
    parts = path.strip("/").split("/")
    if path == "/active":
        if op == "REMOVE" or not isinstance(value, bool):
            raise BadRequest(f"{where}: /active takes UPSERT with true or false.", field="path")
        spec.active = value
    elif path == "/configuration":
        if op == "REMOVE":
            spec.destination_url, spec.secret_key, spec.headers, spec.entries = None, None, {}, []
            return
        raw = checker.object(value, f"{where}.value")
        new = checker.configuration(raw, active=spec.active, ids_allowed=True)
        for key, attribute in (
            ("destinationUrl", "destination_url"),
            ("secretKey", "secret_key"),
            ("headers", "headers"),
        ):
            if key in raw:
                setattr(spec, attribute, getattr(new, attribute))
        if "eventsConfiguration" in raw:
            spec.entries = assign_ids(spec.entries, new.entries)
    elif path.startswith("/configuration/svix"):
        raise http_only()
    elif path == f"{_HTTP}/headers":
        spec.headers = {} if op == "REMOVE" else (checker.headers(value, where) or {})
    elif path == f"{_HTTP}/destinationUrl":
        spec.destination_url = None if op == "REMOVE" else checker.url(value, where)
    elif path == f"{_HTTP}/secretKey":
        spec.secret_key = None if op == "REMOVE" else (checker.text(value, where, limit=1024) or None)
    elif path == f"{_HTTP}/eventsConfiguration":
        spec.entries = (
            [] if op == "REMOVE" else assign_ids(spec.entries, checker.entries(value, where, ids_allowed=True))
        )
    elif path.startswith(f"{_HTTP}/eventsConfiguration/") and len(parts) in (4, 5):
        entry = _one_of_type(spec, parts[3], where)
        if len(parts) == 4:
            if op == "REMOVE":
                if entry is not None:
                    spec.entries.remove(entry)
            elif entry is None:
                created = checker.entry(value, where, ids_allowed=False)
                created.id = str(uuid.uuid4())
                spec.entries.append(created)
            else:
                _replace_entry(checker, entry, value, where)
        else:
            if parts[4] not in _LEGACY_FIELDS:
                raise BadRequest(f"{where}: unknown path {path}.", field="path")
            if entry is None:
                raise NotFound(f"{where}: there is no entry of event type {catalogue.normalize(parts[3])}.")
            _set_entry_field(checker, entry, parts[4], op, value, where)
    elif path == f"{_HTTP}/eventsConfigurationEntry":
        if op == "REMOVE":
            raise BadRequest(f"{where}: REMOVE needs an entry id: {_HTTP}/eventsConfigurationEntry/{{entryId}}.")
        added = checker.entry(value, where, ids_allowed=False)
        added.id = str(uuid.uuid4())
        spec.entries.append(added)
    elif path.startswith(f"{_HTTP}/eventsConfigurationEntry/") and len(parts) in (4, 5):
        entry = next((e for e in spec.entries if e.id == parts[3]), None)
        if entry is None:
            raise BadRequest(f"{where}: there is no entry with id {parts[3]!r}.", field="path")
        if len(parts) == 4:
            if op == "REMOVE":
                spec.entries.remove(entry)
            else:
                _replace_entry(checker, entry, value, where)
        elif parts[4] in _ENTRY_FIELDS:
            _set_entry_field(checker, entry, parts[4], op, value, where)
        else:
            raise BadRequest(f"{where}: unknown path {path}.", field="path")
    else:
        raise BadRequest(f"{where}: unknown path {path}.", field="path")


def apply_patch(checker: Checker, stored: ConfigSpec, operations: Any) -> ConfigSpec:
    """The configuration after `operations`; the first bad one is a 400 (409, 404) naming its index."""
    if not isinstance(operations, list) or not operations:
        raise BadRequest("The body must be a non-empty list of {op, path, value} operations.")
    if len(operations) > MAX_OPERATIONS:
        raise BadRequest(f"The body has {len(operations)} operations; at most {MAX_OPERATIONS} are allowed.")
    spec = copy(stored)
    for index, operation in enumerate(operations):
        where = f"operation {index}"
        if not isinstance(operation, dict):
            raise BadRequest(f"{where} must be an object {{op, path, value}}.")
        op, path = operation.get("op"), operation.get("path")
        if op not in ("UPSERT", "REMOVE"):
            raise BadRequest(f"{where}: op must be UPSERT or REMOVE.", field="op")
        if not isinstance(path, str):
            raise BadRequest(f"{where}: path must be a string.", field="path")
        if op == "UPSERT" and "value" not in operation:
            raise BadRequest(f"{where}: UPSERT needs a value.", field="value")
        _apply(checker, spec, op, path, operation.get("value"), where)
    if len(spec.entries) > MAX_ENTRIES:
        raise BadRequest(
            f"The configuration would have {len(spec.entries)} entries; at most {MAX_ENTRIES} are allowed."
        )
    return spec
