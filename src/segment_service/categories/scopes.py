"""The scope sets of the category, tree and assignment routes: what the guard takes (`opt["scopes"]`, any one scope
is enough) and, where category.yml declares others, what the OpenAPI document says (`opt["declared_scopes"]`, the
`*_DECLARED` sets).

Named verb first (`MANAGE_CATEGORIES`), so that a set is never mistaken for the single `Scope` it starts with.
"""

from __future__ import annotations

from segment_service.core.auth import ANY_TOKEN, Scope

#: Any valid token of the tenant may read; `showUnpublished=true` needs category_read_unpublished (checked by the
#: service).
READ_CATEGORIES = ANY_TOKEN
MANAGE_CATEGORIES = (Scope.CATEGORY_MANAGE.value,)

# The scopes the operations declare in category.yml.
READ_CATEGORIES_DECLARED = (Scope.CATEGORY_READ_UNPUBLISHED.value,)
CREATE_CATEGORIES_DECLARED = (Scope.CATEGORY_MANAGE.value, Scope.CATEGORY_PUBLISH.value)
UPDATE_CATEGORIES_DECLARED = (
    Scope.CATEGORY_MANAGE.value,
    Scope.CATEGORY_PUBLISH.value,
    Scope.CATEGORY_UNPUBLISH.value,
)
REBUILD_TREES_DECLARED = (Scope.CATEGORY_MANAGE.value, Scope.CATEGORY_READ_UNPUBLISHED.value)
