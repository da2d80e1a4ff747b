"""Unit tests of the tree building (categories/trees.py) and of concurrent moves at the service level."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.categories.category_helpers import shape

from segment_service.categories import service
from segment_service.categories.models import CategoryCreateRequest, CategoryPartialUpdateRequest, MetadataPatch
from segment_service.categories.store import CategoryRow
from segment_service.categories.trees import build_forest, category_document, deprecated_text, tree_node
from segment_service.core.auth import SERVICE_SCOPES, Caller, TokenKind
from segment_service.core.db import Database
from segment_service.core.errors import BadRequest
from segment_service.core.languages import WriteLanguage
from segment_service.settings import Settings


def row(
    category_id: str, parent_id: str | None = None, *, position: int | None = 0, published: bool = True, **fields: Any
) -> CategoryRow:
    values: dict[str, Any] = {
        "id": category_id,
        "parent_id": parent_id,
        "type": "STANDARD",
        "code": None,
        "localized_name": {"en": category_id},
        "localized_description": None,
        "localized_slug": None,
        "ecn": [],
        "valid_from": None,
        "valid_to": None,
        "position": position,
        "published": published,
        "mixins": None,
        "metadata_mixins": None,
        "version": 1,
        "created_at": "2024-01-01T00:00:00.000Z",
        "modified_at": "2024-01-01T00:00:00.000Z",
    }
    values.update(fields)
    return CategoryRow(**values)


def ids_only(r: CategoryRow) -> dict[str, Any]:
    return {"id": r.id}


class TestBuildForest:
    def test_empty(self) -> None:
        assert build_forest([], ids_only, unpublished=True) == []

    def test_siblings_by_position_then_id(self) -> None:
        rows = [
            row("b", position=1),
            row("a", position=1),
            row("c", position=0),
            row("d", position=None),
            row("y", "c", position=2),
            row("x", "c", position=2),
            row("z", "c", position=1),
        ]
        assert shape(build_forest(rows, ids_only, unpublished=True)) == [
            ("c", [("z", []), ("x", []), ("y", [])]),
            ("d", []),
            ("a", []),
            ("b", []),
        ]

    def test_unpublished_roots_and_subtrees(self) -> None:
        rows = [
            row("r"),
            row("u", "r", published=False),
            row("v", "u"),
            row("p", "r"),
            row("x", published=False),
            row("y", "x"),
        ]
        assert shape(build_forest(rows, ids_only, unpublished=False)) == [("r", [("p", [])])]
        assert shape(build_forest(rows, ids_only, unpublished=True)) == [
            ("r", [("p", []), ("u", [("v", [])])]),
            ("x", [("y", [])]),
        ]

    def test_only_the_given_roots(self) -> None:
        rows = [row("a"), row("b"), row("c", "b")]
        assert shape(build_forest(rows, ids_only, unpublished=True, root_ids=["b", "nope"])) == [("b", [("c", [])])]
        # A category with a parent is never a root, even when asked for.
        assert build_forest(rows, ids_only, unpublished=True, root_ids=["c"]) == []

    def test_orphans_and_cycles_end_the_walk(self) -> None:
        rows = [row("a"), row("o", "missing"), row("x", "y"), row("y", "x")]
        assert shape(build_forest(rows, ids_only, unpublished=True)) == [("a", [])]

    def test_deep_tree_beyond_the_recursion_limit(self) -> None:
        rows = [row("n0")] + [row(f"n{i}", f"n{i - 1}") for i in range(1, 3000)]
        (node,) = build_forest(reversed(rows), ids_only, unpublished=True)
        depth = 0
        while node["subcategories"]:
            (node,) = node["subcategories"]
            depth += 1
        assert (depth, node["id"]) == (2999, "n2999")

    def test_wide_tree(self) -> None:
        rows = [row("r")] + [row(f"c{i:04d}", "r", position=i % 3) for i in range(3000)]
        (root,) = build_forest(rows, ids_only, unpublished=True)
        children = [c["id"] for c in root["subcategories"]]
        assert len(children) == 3000
        assert children[:3] == ["c0000", "c0003", "c0006"]
        assert children == sorted(children, key=lambda c: (int(c[1:]) % 3, c))


class TestDocuments:
    def test_deprecated_text(self) -> None:
        assert deprecated_text({"de": "Schuhe", "en": "Shoes"}, "en") == "Shoes"
        assert deprecated_text({"de": "Schuhe"}, "en") == "Schuhe"
        assert deprecated_text({}, "en") is None
        assert deprecated_text(None, "en") is None

    def test_tree_node_narrows_languages(self) -> None:
        r = row(
            "a",
            localized_name={"en": "Shoes", "de": "Schuhe"},
            localized_slug={"en": "shoes"},
            code="A",
            valid_from="2024-01-01T00:00:00.000Z",
            position=None,
        )
        assert tree_node(r, "en", ("de",)) == {
            "id": "a",
            "localizedName": {"de": "Schuhe"},
            "name": "Shoes",
            "localizedSlug": {"en": "shoes"},
            "code": "A",
            "validity": {"from": "2024-01-01T00:00:00.000Z"},
            "position": 0,
            "published": True,
        }

    def test_category_document_of_a_bare_row(self) -> None:
        assert category_document(row("a", "p", position=None), "en") == {
            "id": "a",
            "parentId": "p",
            "type": "STANDARD",
            "localizedName": {"en": "a"},
            "name": "a",
            "position": 0,
            "published": True,
            "metadata": {
                "version": 1,
                "createdAt": "2024-01-01T00:00:00.000Z",
                "modifiedAt": "2024-01-01T00:00:00.000Z",
            },
            "media": [],
        }


class TestConcurrentMoves:
    def test_crossing_moves_never_build_a_cycle(self, settings: Settings, tenant: str) -> None:
        """a and b are roots; moving a under b and b under a at the same time: exactly one move wins."""
        caller = Caller(
            tenant=tenant, kind=TokenKind.SERVICE, subject="t", scopes=frozenset(SERVICE_SCOPES), expires_at=2**40
        )
        language = WriteLanguage(None, "en")

        async def scenario() -> tuple[list[Any], list[str], list[str]]:
            assert settings.database_url
            db = await Database.connect(settings, settings.database_url)
            try:
                for category_id in ("a", "b"):
                    body = CategoryCreateRequest(localized_name={"en": category_id}, published=True, id=category_id)
                    await service.create_category(db, caller, body, language=language, publish=None)

                def move(child: str, parent: str) -> Any:
                    patch = CategoryPartialUpdateRequest(metadata=MetadataPatch(version=1), parent_id=parent)
                    return service.patch_category(db, caller, child, patch, language=language, publish=None)

                results = list(await asyncio.gather(move("a", "b"), move("b", "a"), return_exceptions=True))
                return (results, await service.subtree_ids(db, tenant, "a"), await service.subtree_ids(db, tenant, "b"))
            finally:
                await db.close()

        results, below_a, below_b = asyncio.run(scenario())
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1
        assert isinstance(failures[0], BadRequest)
        assert (below_a, below_b) in ((["a"], ["b", "a"]), (["a", "b"], ["b"]))
