"""Every scope string the project knows, and the scope sets each kind of token carries
(docs/decisions.md#which-scopes-an-operation-takes). Each service names its routes' sets in its own scopes.py."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """Every Emporix scope string this project knows, spelled once."""

    SEGMENT_READ = "customersegment.segment_read"
    SEGMENT_READ_OWN = "customersegment.segment_read_own"
    SEGMENT_MANAGE = "customersegment.segment_manage"
    COUPON_READ = "coupon.coupon_read"
    COUPON_MANAGE = "coupon.coupon_manage"
    COUPON_REDEEM = "coupon.coupon_redeem"
    COUPON_REDEEM_ON_BEHALF = "coupon.coupon_redeem_on_behalf"
    CATEGORY_MANAGE = "category.category_manage"
    CATEGORY_READ_UNPUBLISHED = "category.category_read_unpublished"
    CATEGORY_PUBLISH = "category.category_publish"
    CATEGORY_UNPUBLISH = "category.category_unpublish"
    CUSTOMER_READ = "customer.customer_read"
    CUSTOMER_MANAGE = "customer.customer_manage"
    CUSTOMER_READ_OWN = "customer.customer_read_own"
    CUSTOMER_MANAGE_OWN = "customer.customer_manage_own"
    LEGAL_ENTITY_READ = "customermanagement.legalentity_read"
    LEGAL_ENTITY_READ_OWN = "customermanagement.legalentity_read_own"
    LEGAL_ENTITY_MANAGE = "customermanagement.legalentity_manage"
    CONTACT_ASSIGNMENT_READ = "customermanagement.contactassignment_read"
    CONTACT_ASSIGNMENT_MANAGE = "customermanagement.contactassignment_manage"
    PRODUCT_READ_UNPUBLISHED = "product.product_read_unpublished"
    PRODUCT_MANAGE = "product.product_manage"
    PRODUCT_PUBLISH = "product.product_publish"
    PRODUCT_UNPUBLISH = "product.product_unpublish"
    WEBHOOK_SUBSCRIPTION_READ = "webhook.subscription_read"
    WEBHOOK_SUBSCRIPTION_MANAGE = "webhook.subscription_manage"
    ORDER_READ = "order.order_read"
    ORDER_CREATE = "order.order_create"
    ORDER_UPDATE = "order.order_update"
    ORDER_UPDATE_COMPLETED = "order.order_update_completed"
    ORDER_DELETE = "order.order_delete"


#: What a service client gets when no scopes are asked for: every scope a back office needs.
SERVICE_SCOPES: tuple[str, ...] = tuple(
    s.value for s in Scope if not s.value.endswith("_own") and s is not Scope.COUPON_REDEEM
)


#: What a customer token carries: the storefront set (docs/decisions.md#storefront-tokens), so a shop can read its own
#: data and redeem coupons.
CUSTOMER_SCOPES: tuple[str, ...] = (
    Scope.SEGMENT_READ_OWN.value,
    Scope.COUPON_REDEEM.value,
    Scope.CUSTOMER_READ_OWN.value,
    Scope.CUSTOMER_MANAGE_OWN.value,
    Scope.LEGAL_ENTITY_READ_OWN.value,
)

#: An anonymous token's scope is only `tenant=T` (docs/decisions.md#storefront-tokens).
ANONYMOUS_SCOPES: tuple[str, ...] = ()

#: The `opt["scopes"]` of an operation that any valid token of the tenant may call.
ANY_TOKEN: tuple[str, ...] = ()
