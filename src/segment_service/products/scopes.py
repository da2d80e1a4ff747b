"""The scope sets of the product routes: what the guard takes (`opt["scopes"]`, any one scope is enough) and, where
product.yml declares others, what the OpenAPI document says (`opt["declared_scopes"]`, the `*_DECLARED` sets).

Named verb first (`MANAGE_PRODUCTS`), so that a set is never mistaken for the single `Scope` it starts with.
"""

from __future__ import annotations

from segment_service.core.auth import ANY_TOKEN, Scope

#: Any valid token of the tenant may read; unpublished products need product_read_unpublished (checked by the
#: service).
READ_PRODUCTS = ANY_TOKEN
MANAGE_PRODUCTS = (Scope.PRODUCT_MANAGE.value,)

# The scopes the operations declare in product.yml (those this project knows; vendor scopes are not implemented).
READ_PRODUCTS_DECLARED = (Scope.PRODUCT_READ_UNPUBLISHED.value,)
CREATE_PRODUCTS_DECLARED = (Scope.PRODUCT_MANAGE.value, Scope.PRODUCT_PUBLISH.value)
UPDATE_PRODUCTS_DECLARED = (Scope.PRODUCT_MANAGE.value, Scope.PRODUCT_PUBLISH.value, Scope.PRODUCT_UNPUBLISH.value)
