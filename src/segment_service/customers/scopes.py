"""The scope sets of the customer routes (`opt["scopes"]`): any one scope of a set is enough.

Named verb first (`READ_CUSTOMERS`), so that a set is never mistaken for the single `Scope` it starts with.
"""

from __future__ import annotations

from segment_service.core.auth import Scope

READ_CUSTOMERS = (Scope.CUSTOMER_READ.value,)
MANAGE_CUSTOMERS = (Scope.CUSTOMER_MANAGE.value,)
#: The customer's own account (`/me`), with a customer token.
READ_OWN_ACCOUNT = (Scope.CUSTOMER_READ_OWN.value,)
MANAGE_OWN_ACCOUNT = (Scope.CUSTOMER_MANAGE_OWN.value,)
