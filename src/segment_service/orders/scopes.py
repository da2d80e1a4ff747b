"""The scope sets of the order routes (`opt["scopes"]`): any one scope of a set is enough.

order.yml also lets `order.order_read_by_vendor` / `order.order_manage_by_vendor` read and change a vendor's
orders; this service keeps no vendors, so those scopes open nothing here (docs/orders.md#scopes-and-token-kinds)."""

from __future__ import annotations

from segment_service.core.scopes import Scope

READ_ORDERS = (Scope.ORDER_READ.value,)
CREATE_ORDERS = (Scope.ORDER_CREATE.value,)
UPDATE_ORDERS = (Scope.ORDER_UPDATE.value, Scope.ORDER_UPDATE_COMPLETED.value)
DELETE_ORDERS = (Scope.ORDER_DELETE.value,)
READ_TRANSITIONS = (Scope.ORDER_READ.value, Scope.ORDER_UPDATE.value, Scope.ORDER_UPDATE_COMPLETED.value)
READ_HISTORY = (Scope.ORDER_READ.value, Scope.ORDER_UPDATE.value)
