"""An open data subject request keeps its contacts from retention's erasure (consent.retention;
discovered by consent.apps): the request is answered first, about data that still exists."""

from django.db.models import Exists, OuterRef, Q

from consent.retention import register_keeper
from dsr.models import DataSubjectRequest


def _open_request() -> Q:
    open_requests = DataSubjectRequest.objects.filter(
        contacts=OuterRef("pk"), status__in=DataSubjectRequest.OPEN
    )
    return Q(Exists(open_requests))


register_keeper("open data subject request", _open_request)
