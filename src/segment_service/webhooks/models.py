"""The Webhook Service's configuration bodies (webhook.yml's HTTP strategy): reading and checking what a client sends,
and what GET shows (never a secret: `secretKeyExists`). docs/webhooks.md#configuration-api."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from segment_service.core.errors import BadRequest
from segment_service.webhooks import catalogue
from segment_service.webhooks.destinations import DestinationRefused, check_url
from segment_service.webhooks.jsonpath import JsonPathError, compile_filter

HTTP = "http"
MAX_HEADERS = 10
MAX_ENTRIES = 100
MAX_NAME = 255
MAX_SECRET = 1024
MAX_HEADER_VALUE = 4096
MAX_FIELD_NAMES = 100
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
_SVIX = {"svix", "svix_shared", "SVIX", "SVIX_SHARED"}


def http_only() -> BadRequest:
    return BadRequest(
        "This service delivers webhooks over HTTP only: use code 'http' with provider 'HTTP' "
        "(the Svix providers are not available).",
        field="provider",
    )


@dataclass
class EntrySpec:
    """One `eventsConfiguration` entry; None fields inherit (root destination, secret, headers; the
    subscription's excluded fields)."""

    id: str | None
    event_type: str
    name: str | None = None
    destination_url: str | None = None
    secret_key: str | None = None
    headers: dict[str, dict[str, str]] | None = None
    filter: str | None = None
    excluded_fields: list[str] | None = None
    active: bool = True


@dataclass
class ConfigSpec:
    """A whole HTTP configuration."""

    active: bool
    destination_url: str | None = None
    secret_key: str | None = None
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    entries: list[EntrySpec] = field(default_factory=list)

    def active_endpoints(self) -> set[str]:
        """The endpoints deliveries may be pending for: the active entries and, when set, the root ("root")."""
        if not self.active:
            return set()
        found = {e.id for e in self.entries if e.active and e.id is not None}
        return found | ({"root"} if self.destination_url else set())


class Checker:
    """Reads configuration values, refusing each bad one with a 400 that names it."""

    def __init__(self, *, public_only: bool) -> None:
        self.public_only = public_only

    def object(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise BadRequest(f"{where} must be a JSON object.", field=where)
        return value

    def text(self, value: Any, where: str, *, limit: int, optional: bool = True) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise BadRequest(f"{where} must be a string.", field=where)
        if len(value) > limit:
            raise BadRequest(f"{where} is longer than {limit} characters.", field=where)
        return value

    def boolean(self, value: Any, where: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise BadRequest(f"{where} must be true or false.", field=where)
        return value

    def url(self, value: Any, where: str) -> str | None:
        url = self.text(value, where, limit=2048)
        if url is None or url == "":
            return None
        try:
            check_url(url, public_only=self.public_only)
        except DestinationRefused as exc:
            raise BadRequest(f"{where}: {str(exc).removeprefix('destinationUrl: ')}", field=where) from None
        return url

    def headers(self, value: Any, where: str) -> dict[str, dict[str, str]] | None:
        if value is None:
            return None
        headers = self.object(value, where)
        if len(headers) > MAX_HEADERS:
            raise BadRequest(f"{where} has {len(headers)} headers; at most {MAX_HEADERS} are allowed.", field=where)
        checked: dict[str, dict[str, str]] = {}
        for name, spec in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise BadRequest(f"{where}: {name!r} is not a valid HTTP header name.", field=where)
            raw = spec.get("value") if isinstance(spec, dict) else None
            if not isinstance(raw, str):
                raise BadRequest(f'{where}.{name} must be an object {{"value": "<text>"}}.', field=where)
            if len(raw) > MAX_HEADER_VALUE or any(c in raw for c in "\r\n\0"):
                raise BadRequest(
                    f"{where}.{name}: the value must be at most {MAX_HEADER_VALUE} characters without line breaks.",
                    field=where,
                )
            checked[name] = {"value": raw}
        return checked

    def event_type(self, value: Any, where: str) -> str:
        raw = self.text(value, where, limit=200, optional=False)
        assert raw is not None
        found = catalogue.find(raw)
        if found is None:
            allowed = ", ".join(sorted(catalogue.event_types()))
            raise BadRequest(
                f"{where}: {raw!r} is not an event this service publishes; one of: {allowed}.", field=where
            )
        return found.type

    def filter(self, value: Any, where: str) -> str | None:
        expression = self.text(value, where, limit=1000)
        if expression is None or not expression.strip():
            return None
        try:
            compile_filter(expression)
        except JsonPathError as exc:
            raise BadRequest(f"{where}: invalid JsonPath filter: {exc}.", field=where) from None
        return expression

    def field_names(self, value: Any, where: str) -> list[str] | None:
        if value is None:
            return None
        if not isinstance(value, list) or len(value) > MAX_FIELD_NAMES:
            raise BadRequest(f"{where} must be a list of at most {MAX_FIELD_NAMES} field names.", field=where)
        names: list[str] = []
        for name in value:
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                raise BadRequest(f"{where} must hold non-blank top-level field names.", field=where)
            if name not in names:
                names.append(name)
        return names

    def entry(self, value: Any, where: str, *, ids_allowed: bool) -> EntrySpec:
        raw = self.object(value, where)
        entry_id = raw.get("id")
        if entry_id is not None and not ids_allowed:
            raise BadRequest(
                f"{where}.id: entry ids are assigned by the server; omit them when creating entries.", field=where
            )
        if entry_id is not None and not isinstance(entry_id, str):
            raise BadRequest(f"{where}.id must be a string.", field=where)
        return EntrySpec(
            id=entry_id,
            event_type=self.event_type(raw.get("eventType"), f"{where}.eventType"),
            name=self.text(raw.get("name"), f"{where}.name", limit=MAX_NAME),
            destination_url=self.url(raw.get("destinationUrl"), f"{where}.destinationUrl"),
            secret_key=self.text(raw.get("secretKey"), f"{where}.secretKey", limit=MAX_SECRET) or None,
            headers=self.headers(raw.get("headers"), f"{where}.headers"),
            filter=self.filter(raw.get("filter"), f"{where}.filter"),
            excluded_fields=self.field_names(raw.get("excludedFields"), f"{where}.excludedFields"),
            active=self.boolean(raw.get("active"), f"{where}.active", True),
        )

    def entries(self, value: Any, where: str, *, ids_allowed: bool) -> list[EntrySpec]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise BadRequest(f"{where} must be a list of entries.", field=where)
        if len(value) > MAX_ENTRIES:
            raise BadRequest(f"{where} has {len(value)} entries; at most {MAX_ENTRIES} are allowed.", field=where)
        entries = [self.entry(item, f"{where}[{i}]", ids_allowed=ids_allowed) for i, item in enumerate(value)]
        ids = [e.id for e in entries if e.id is not None]
        if len(ids) != len(set(ids)):
            raise BadRequest(f"{where} names an entry id more than once.", field=where)
        return entries

    def configuration(self, value: Any, *, active: bool, ids_allowed: bool) -> ConfigSpec:
        raw = self.object({} if value is None else value, "configuration")
        return ConfigSpec(
            active=active,
            destination_url=self.url(raw.get("destinationUrl"), "configuration.destinationUrl"),
            secret_key=self.text(raw.get("secretKey"), "configuration.secretKey", limit=MAX_SECRET) or None,
            headers=self.headers(raw.get("headers"), "configuration.headers") or {},
            entries=self.entries(
                raw.get("eventsConfiguration"), "configuration.eventsConfiguration", ids_allowed=ids_allowed
            ),
        )

    def provider(self, body: dict[str, Any], code: str | None) -> None:
        provider = body.get("provider")
        if provider in _SVIX or code in _SVIX:
            raise http_only()
        if provider != "HTTP":
            raise BadRequest(
                "provider must be 'HTTP' (this service delivers webhooks over HTTP only).", field="provider"
            )
        if code is not None and code != HTTP:
            raise BadRequest(f"code must be 'http' for the HTTP provider, not {code!r}.", field="code")


def render_config(spec: ConfigSpec) -> dict[str, Any]:
    """The GET shape (ConfigurationGet): secrets become `secretKeyExists`."""
    configuration: dict[str, Any] = {"secretKeyExists": bool(spec.secret_key), "headers": spec.headers}
    if spec.destination_url:
        configuration["destinationUrl"] = spec.destination_url
    entries = []
    for entry in spec.entries:
        shown: dict[str, Any] = {
            "id": entry.id,
            "eventType": entry.event_type,
            "secretKeyExists": bool(entry.secret_key),
            "excludedFields": entry.excluded_fields,
            "active": entry.active,
        }
        for key, value in (
            ("name", entry.name),
            ("destinationUrl", entry.destination_url),
            ("headers", entry.headers),
            ("filter", entry.filter),
        ):
            if value is not None:
                shown[key] = value
        entries.append(shown)
    configuration["eventsConfiguration"] = entries
    return {"code": HTTP, "provider": "HTTP", "active": spec.active, "configuration": configuration}


def copy(spec: ConfigSpec) -> ConfigSpec:
    """A deep copy to apply a PATCH to."""
    return dataclasses.replace(
        spec,
        headers=dict(spec.headers),
        entries=[
            dataclasses.replace(e, excluded_fields=None if e.excluded_fields is None else list(e.excluded_fields))
            for e in spec.entries
        ],
    )
