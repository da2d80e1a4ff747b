"""Stores own their SQL: no public function of a store module takes SQL text (a WHERE, an ORDER BY, a tiebreak, a
condition) from its caller. A service passes typed filters; the store builds its statements with core/listing.py."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from types import ModuleType

import segment_service

#: Parameter names that announce SQL text: `where`, `segment_where`, `order_by`, `tiebreak`, `active_condition`, `sql`.
_SQL_NAME = re.compile(r"(?:^|_)(?:where|order_by|orderby|tiebreak|condition|conditions|sql|clause)$")
_STR = re.compile(r"\bstr\b")


def _store_modules() -> Iterator[ModuleType]:
    for info in pkgutil.walk_packages(segment_service.__path__, f"{segment_service.__name__}."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf == "store" or leaf.endswith("_store"):
            yield importlib.import_module(info.name)


def _sql_text_parameters(module: ModuleType) -> list[str]:
    found = []
    for name, function in inspect.getmembers(module, inspect.isfunction):
        if name.startswith("_") or function.__module__ != module.__name__:
            continue
        for parameter in inspect.signature(function).parameters.values():
            annotation = parameter.annotation
            text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))
            if _SQL_NAME.search(parameter.name) and _STR.search(text):
                found.append(f"{module.__name__}.{name}({parameter.name}: {text})")
    return found


def test_store_modules_are_found() -> None:
    names = {module.__name__ for module in _store_modules()}
    assert {"segment_service.segments.store", "segment_service.categories.assignment_store"} <= names


def test_no_store_function_takes_sql_text() -> None:
    offenders = [found for module in _store_modules() for found in _sql_text_parameters(module)]
    assert offenders == [], "store functions taking SQL text from their callers: " + ", ".join(offenders)


def test_the_check_sees_sql_text() -> None:
    module = ModuleType("segment_service.example_store")

    async def list_rows(conn: object, *, where: str, params: list[object], order_by: str) -> None: ...

    list_rows.__module__ = module.__name__
    module.list_rows = list_rows  # type: ignore[attr-defined]
    assert _sql_text_parameters(module) == [
        "segment_service.example_store.list_rows(where: str)",
        "segment_service.example_store.list_rows(order_by: str)",
    ]
