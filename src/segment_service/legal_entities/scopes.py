"""The scope sets of the legal-entity and contact-assignment routes (`opt["scopes"]`): any one scope of a set is
enough.

Named verb first (`READ_LEGAL_ENTITIES`), so that a set is never mistaken for the single `Scope` it starts with.
"""

from __future__ import annotations

from segment_service.core.auth import Scope

#: Lists and searches: a back office reads every legal entity, a customer those it is a contact of.
READ_LEGAL_ENTITIES = (Scope.LEGAL_ENTITY_READ.value, Scope.LEGAL_ENTITY_READ_OWN.value)
#: One legal entity by id: the back-office scope only.
READ_ANY_LEGAL_ENTITY = (Scope.LEGAL_ENTITY_READ.value,)
MANAGE_LEGAL_ENTITIES = (Scope.LEGAL_ENTITY_MANAGE.value,)
READ_CONTACT_ASSIGNMENTS = (Scope.CONTACT_ASSIGNMENT_READ.value,)
MANAGE_CONTACT_ASSIGNMENTS = (Scope.CONTACT_ASSIGNMENT_MANAGE.value,)
