"""Whose data: a visitor by id, or an identified customer by the company's user id."""

import hashlib
import hmac
import uuid

from django.conf import settings

from chatbot.audit.actions import DATA_ERASED
from chatbot.audit.models import AuditEntry
from chatbot.models import Visitor

VISITOR = "visitor"
CUSTOMER = "customer"


def find_visitor(kind: str, key: str) -> Visitor | None:
    """Return the visitor a subject names (VISITOR by id, CUSTOMER by user id), or None."""
    if kind == VISITOR:
        try:
            return Visitor.objects.filter(pk=uuid.UUID(key)).first()
        except ValueError:
            return None
    return Visitor.objects.filter(external_id=key).first()


def customer_digest(external_id: str) -> str:
    """Return a keyed digest of a customer's user id: erasure records it instead of the id."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"customer:{external_id}".encode(), hashlib.sha256).hexdigest()[:32]


def was_erased(kind: str, key: str) -> bool:
    """Whether the audit trail records an erasure of this subject."""
    erasures = AuditEntry.objects.filter(action=DATA_ERASED)
    if kind == VISITOR:
        try:
            visitor_id = str(uuid.UUID(key))
        except ValueError:
            return False
        return erasures.filter(target_type=VISITOR, target_id=visitor_id).exists()
    return erasures.filter(details__customer_digest=customer_digest(key)).exists()
