"""The stored fields a rule's attribute conditions may read (docs/rules.md#attributes), by their API names: a column
of the customer, legal entity or contact, or a path into one of their JSON columns. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segment_service.core.errors import BadRequest

#: The value kinds a field holds; DYNAMIC is JSON whose kind the rule's value decides (mixins, legal info).
STRING, NUMBER, BOOLEAN, DATETIME, DYNAMIC = "string", "number", "boolean", "datetime", "dynamic"


@dataclass(frozen=True, slots=True)
class Field:
    """Where an attribute lives: a column of its table (`column`, of `kind`), or a path into a JSON column."""

    entity: str  # customer | legalEntity | contact
    column: str
    kind: str
    json_path: tuple[str, ...] = ()


# The stored fields of each entity a rule may read, by their API names (customer.yml, legal-entity.yml).
_CUSTOMER = {
    "id": ("id", STRING),
    "customerNumber": ("id", STRING),
    "contactEmail": ("contact_email", STRING),
    "title": ("title", STRING),
    "firstName": ("first_name", STRING),
    "lastName": ("last_name", STRING),
    "company": ("company", STRING),
    "preferredLanguage": ("preferred_language", STRING),
    "active": ("active", BOOLEAN),
    "metadata.createdAt": ("created_at", DATETIME),
    "metadata.modifiedAt": ("modified_at", DATETIME),
    "metadata.version": ("version", NUMBER),
}
_LEGAL_ENTITY = {
    "id": ("id", STRING),
    "name": ("name", STRING),
    "type": ("type", STRING),
    "parentId": ("parent_id", STRING),
    "metadata.createdAt": ("created_at", DATETIME),
    "metadata.modifiedAt": ("modified_at", DATETIME),
    "metadata.version": ("version", NUMBER),
}
_CONTACT = {
    "id": ("id", STRING),
    "type": ("type", STRING),
    "primary": ("is_primary", BOOLEAN),
    "metadata.createdAt": ("created_at", DATETIME),
    "metadata.modifiedAt": ("modified_at", DATETIME),
    "metadata.version": ("version", NUMBER),
}
#: JSON columns whose inside a path may name: `mixins.loyalty.tier`, `legalInfo.countryOfRegistration`.
_JSON_COLUMNS = {
    "customer": {"mixins": "mixins", "metadata.mixins": "metadata_mixins"},
    "legalEntity": {
        "mixins": "mixins",
        "metadata.mixins": "metadata_mixins",
        "legalInfo": "legal_info",
        "accountLimit": "account_limit",
        "customerGroups": "customer_groups",
        "restrictions": "restrictions",
    },
    "contact": {"mixins": "mixins", "metadata.mixins": "metadata_mixins"},
}
_FIELDS = {"customer": _CUSTOMER, "legalEntity": _LEGAL_ENTITY, "contact": _CONTACT}


def _bad(path: str, message: str) -> BadRequest:
    return BadRequest(f"{path}: {message}", field=path, type="invalid_value")


def resolve_field(subject: str, attribute: Any, path: str) -> tuple[Field, str]:
    """The field an attribute path names (`customer.firstName`, `customer.mixins.loyalty.tier`)."""
    if not isinstance(attribute, str) or "." not in attribute:
        raise _bad(path, f"expected an attribute such as customer.firstName, got {attribute!r}")
    entity, _, rest = attribute.partition(".")
    if entity not in _FIELDS:
        raise _bad(path, f"unknown entity '{entity}' (customer, legalEntity or contact)")
    if entity != "customer" and subject != "CONTACT":
        raise _bad(path, f"a {subject} rule cannot read {entity}.* (only a CONTACT rule has a legal entity)")
    known = _FIELDS[entity].get(rest)
    if known is not None:
        return Field(entity, known[0], known[1]), attribute
    for prefix, column in sorted(_JSON_COLUMNS[entity].items(), key=lambda item: -len(item[0])):
        if rest == prefix or rest.startswith(prefix + "."):
            inside = tuple(part for part in rest[len(prefix) + 1 :].split(".") if part) if rest != prefix else ()
            if any(not part for part in rest[len(prefix) + 1 :].split(".")) and rest != prefix:
                raise _bad(path, f"'{attribute}' has an empty path segment")
            return Field(entity, column, DYNAMIC, inside), attribute
    names = ", ".join(sorted([*_FIELDS[entity], *(f"{p}.*" for p in _JSON_COLUMNS[entity])]))
    raise _bad(path, f"'{attribute}' is not a field a rule can read; {entity} has {names}")


def columns(entity: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the plain columns, the JSON columns) of an entity that rules may read."""
    plain = tuple(dict.fromkeys(column for column, _ in _FIELDS[entity].values()))
    return plain, tuple(_JSON_COLUMNS[entity].values())
