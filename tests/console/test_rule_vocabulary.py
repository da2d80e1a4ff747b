"""The rule builder's vocabulary (static/parts/rule-model.js) says only what the service accepts: every field it
offers resolves in rules/fields.py with the same kind, every operator it offers for a kind the service takes for that
kind, and its order measures and statuses are the service's. The builder mirrors the server because the API has no
operation that lists them; this keeps the mirror honest."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from segment_service.rules import conditions
from segment_service.rules.fields import DYNAMIC, resolve_field


def _vocabulary(page: Page) -> dict[str, Any]:
    page.goto("/admin")
    vocabulary: dict[str, Any] = page.evaluate(
        """async () => {
          const model = await import('/admin/assets/parts/rule-model.js');
          return {attributes: model.ATTRIBUTES, json: model.JSON_PREFIXES, ops: model.OPS_BY_KIND,
                  measures: model.MEASURES, statuses: model.ORDER_STATUSES};
        }"""
    )
    return vocabulary


def test_every_offered_field_is_one_the_service_reads_with_that_kind(page: Page) -> None:
    vocabulary = _vocabulary(page)
    assert vocabulary["attributes"]
    for attribute in vocabulary["attributes"]:
        subject = "CONTACT" if attribute.get("contact") else "CUSTOMER"
        field, _ = resolve_field(subject, attribute["path"], "condition")
        assert field.kind == attribute["kind"], attribute
    for prefix in vocabulary["json"]:
        subject = "CONTACT" if prefix.get("contact") else "CUSTOMER"
        field, _ = resolve_field(subject, prefix["prefix"] + "x", "condition")
        assert field.kind == DYNAMIC, prefix


def test_every_offered_operator_measure_and_status_is_accepted(page: Page) -> None:
    vocabulary = _vocabulary(page)
    for kind, offered in vocabulary["ops"].items():
        accepted = conditions.OPS_BY_KIND[DYNAMIC if kind == "json" else kind]
        assert set(offered) <= accepted, (kind, set(offered) - accepted)
    assert {m["value"]: m["kind"] for m in vocabulary["measures"]} == conditions.MEASURES
    assert set(vocabulary["statuses"]) == conditions.ORDER_STATUSES
