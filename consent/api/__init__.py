"""Consent's API, one module per resource: records (consent change records, read-only evidence)
and contacts (contacts with their consent, changed through the consent service)."""

from consent.api.contacts import ContactViewSet
from consent.api.records import ConsentChangeSerializer, ConsentChangeViewSet

__all__ = ["ConsentChangeSerializer", "ConsentChangeViewSet", "ContactViewSet"]
