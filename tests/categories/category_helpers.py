"""What the category and category-tree tests share: a client of `/category/{tenant}`, builders and the Category
Service error body (`{code, status, message, resourceId?, details: [text]}`)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx
from tests.factories import TOKEN_FAILURES, Api, ErrorFamily

MANAGE = ("category.category_manage",)
READ_UNPUBLISHED = "category.category_read_unpublished"
PUBLISH, UNPUBLISH = "category.category_publish", "category.category_unpublish"
#: Refusals of a read: it needs a token of the tenant, but no scope.
READ_FAILURES = TOKEN_FAILURES


class Categories(Api):
    """Requests to /category/{tenant}… of the test's tenant, with a service token holding every scope."""

    prefix = "/category"
    error_family = ErrorFamily.CODE_DETAILS

    def create(self, **body: Any) -> str:
        """POST /categories; `localizedName` defaults to the id (or "Category"), `published` to true."""
        body.setdefault("localizedName", {"en": str(body.get("id", "Category"))})
        body.setdefault("published", True)
        response = self.request("POST", "/categories", json=body)
        assert response.status_code == 201, response.text
        category_id: str = response.json()["id"]
        return category_id

    def get_json(self, path: str, **kwargs: Any) -> Any:
        response = self.request("GET", path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def ids(self, path: str, **kwargs: Any) -> list[str]:
        """The ids of a list answer."""
        return [c["id"] for c in self.get_json(path, **kwargs)]

    def storefront(self, kind: str) -> str:
        """A customer or anonymous token of the tenant."""
        if kind == "customer":
            return self.tokens.customer(self.tenant, "c1")
        return self.tokens.anonymous(self.tenant)

    def without(self, *scopes: str) -> str:
        """A service token holding every category scope but `scopes`."""
        every = (*MANAGE, READ_UNPUBLISHED, PUBLISH, UNPUBLISH)
        return self.tokens.service(self.tenant, tuple(s for s in every if s not in scopes))


def error(status: int, message: str, *, field: str | None = None, resource_id: str | None = None) -> dict[str, Any]:
    """A whole Category Service error body: `details` repeats the message, prefixed by the field it names."""
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if resource_id is not None:
        body["resourceId"] = resource_id
    body["details"] = [message if field is None else f"{field}: {message}"]
    return body


def not_found(category_id: str) -> dict[str, Any]:
    return error(404, f"Category with id '{category_id}' not found.", resource_id=category_id)


def bad_body(message: str, field: str | None = None) -> dict[str, Any]:
    """The 400 of a body that does not decode."""
    where = f" (at '{field}')" if field and "missing" not in message else ""
    return error(400, f"Validation problem with request body: {message}{where}.", field=field)


def forbidden(message: str) -> dict[str, Any]:
    return error(403, message)


UNPUBLISHED_FORBIDDEN = forbidden("showUnpublished=true requires the scope category.category_read_unpublished.")


def assert_error(response: httpx.Response, expected: dict[str, Any]) -> None:
    assert response.status_code == expected["code"], response.text
    assert response.json() == expected


def shape(tree: list[dict[str, Any]]) -> list[Any]:
    """A forest as nested (id, [children]) pairs, for compact assertions."""
    return [(node["id"], shape(node["subcategories"])) for node in tree]
