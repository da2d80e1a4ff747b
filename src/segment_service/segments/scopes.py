"""The scope sets of the segment routes (`opt["scopes"]`): any one scope of a set is enough.

Named verb first (`READ_SEGMENTS`), so that a set is never mistaken for the single `Scope` it starts with.
"""

from __future__ import annotations

from segment_service.core.auth import Scope

#: Reading segments and their items: a back office reads all of them, a customer those it belongs to.
READ_SEGMENTS = (Scope.SEGMENT_READ.value, Scope.SEGMENT_READ_OWN.value)
#: Reading other customers' memberships: the back-office scope only.
READ_ALL_SEGMENTS = (Scope.SEGMENT_READ.value,)
#: The storefront reads that exist only for the caller's own segments.
READ_OWN_SEGMENTS = (Scope.SEGMENT_READ_OWN.value,)
MANAGE_SEGMENTS = (Scope.SEGMENT_MANAGE.value,)
