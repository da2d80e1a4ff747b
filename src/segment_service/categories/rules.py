"""Rules shared by category reads and writes: who sees unpublished categories, who may (un)publish, the 404."""

from __future__ import annotations

from segment_service.core.auth import Caller, Scope
from segment_service.core.errors import BadRequest, Forbidden, NotFound

_READ_UNPUBLISHED = (Scope.CATEGORY_READ_UNPUBLISHED,)


def not_found(category_id: str) -> NotFound:
    return NotFound(f"Category with id '{category_id}' not found.", resource_id=category_id)


def show_unpublished(caller: Caller, requested: bool) -> bool:
    """Whether unpublished categories are shown: `showUnpublished=true` asks for them and needs
    category.category_read_unpublished (category.yml answers 403 for "insufficient scopes for given query values")."""
    if requested and not caller.has_any(_READ_UNPUBLISHED):
        raise Forbidden(f"showUnpublished=true requires the scope {Scope.CATEGORY_READ_UNPUBLISHED.value}.")
    return requested


def check_publishing(caller: Caller, *, was: bool | None, now: bool, publish: bool | None) -> None:
    """category.yml, "Additional scope information": publishing needs category.category_publish and unpublishing
    category.category_unpublish, beside category.category_manage. `was` is None for a new category. The `publish`
    query parameter, when sent, must match the resulting `published`."""
    if publish is not None and publish != now:
        raise BadRequest(
            f"The publish query parameter ({str(publish).lower()}) must match the category's "
            f"published value ({str(now).lower()}).",
            field="publish",
            type="invalid_query_parameter",
        )
    if now and not was and not caller.has_any((Scope.CATEGORY_PUBLISH,)):
        raise Forbidden(f"Publishing a category requires the scope {Scope.CATEGORY_PUBLISH.value}.")
    if was and not now and not caller.has_any((Scope.CATEGORY_UNPUBLISH,)):
        raise Forbidden(f"Unpublishing a category requires the scope {Scope.CATEGORY_UNPUBLISH.value}.")
