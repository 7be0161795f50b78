"""An open data subject request keeps its contacts from retention's erasure (consent.retention;
discovered by consent.apps): the request is answered first, about data that still exists. And
the nightly job (consent.lapse) erases through the request's own erasure (dsr.erasure)."""

from django.db.models import Exists, OuterRef, Q

from consent.lapse import register_eraser
from consent.retention import register_keeper
from dsr.erasure import contacts_erase
from dsr.models import DataSubjectRequest


def _open_request() -> Q:
    open_requests = DataSubjectRequest.objects.filter(
        contacts=OuterRef("pk"), status__in=DataSubjectRequest.OPEN
    )
    return Q(Exists(open_requests))


register_keeper("open data subject request", _open_request)


def _erase(*, contacts, reference: str, rule: dict):
    """No request and no officer: the erasure record names the rule (its receipt's "retention")."""
    return contacts_erase(contacts=contacts, actor=None, reference=reference, retention=rule)


register_eraser(_erase)
