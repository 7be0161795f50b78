"""Consent's API, one module per resource: records (consent change records, read-only evidence),
contacts (contacts with their consent, changed through the consent service), contact_writes
(creating and correcting contacts) and catalogue (the purposes, read-only)."""

from consent.api.catalogue import PurposeViewSet
from consent.api.contacts import ContactViewSet
from consent.api.records import ConsentChangeSerializer, ConsentChangeViewSet

__all__ = ["ConsentChangeSerializer", "ConsentChangeViewSet", "ContactViewSet", "PurposeViewSet"]
