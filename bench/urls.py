"""The product's URLs plus bare views, served only by the benchmark (its gunicorn, bench/wsgi.py,
and its in-process client)."""

from django.db import connection, transaction
from django.shortcuts import render
from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.models import Purpose
from contacts.models import Contact
from subscriptions.forms import PreferencesForm
from subscriptions.models import SubscriptionList

_PREPARED: dict = {}


def bare_center(request):
    """The subscription center's template with the same kind of context, and no query per request:
    everything is read once per worker. The best this stack can serve the page."""
    if not _PREPARED:
        purposes = list(Purpose.objects.filter(active=True))
        lists = list(SubscriptionList.objects.filter(active=True, public=True))
        contact = Contact(first_name="Ada", last_name="Bench", email="ada@bench.example", consent_given=3)
        _PREPARED.update(purposes=purposes, lists=lists, contact=contact)
    contact = _PREPARED["contact"]
    form = PreferencesForm(
        initial={"consent_given": 3, "tracking": "deny", "lists": [], "first_name": "Ada"},
        contact=contact,
        purposes=_PREPARED["purposes"],
        lists=_PREPARED["lists"],
    )
    context = {
        "form": form,
        "contact": contact,
        "pending_lists": [],
        "gpc": False,
        "gpc_applied": False,
        "email_level": False,
    }
    return render(request, "subscriptions/center.html", context)


class _KeyOnly:
    """The product's API key check (staff.api_auth) and nothing more."""

    def authenticate(self, request):
        from staff.api_auth import ApiKeyAuthentication

        return ApiKeyAuthentication().key_check(request)

    def authenticate_header(self, request):
        return "Token"


class BareConsent(APIView):
    """A consent write as bare as DRF serves one: the same key check, then the raw UPDATE of the
    level and INSERT of a change record in one transaction. No role or permission check, no
    rules, history, seal, outbox or access log: the best this stack can answer such a POST."""

    authentication_classes = [_KeyOnly]
    permission_classes = [IsAuthenticated]

    def post(self, request, pk):
        level = int(request.data["level"])
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE contacts_contact SET consent_given = %s WHERE id = %s", [level, pk])
            cursor.execute(
                "INSERT INTO consent_consentchange (contact_id, field, old_value, new_value, source,"
                " channel, justification, evidence, effective_at, recorded_at) VALUES (%s,"
                " 'consent_given', '', %s, 'api', '', '', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                [pk, str(level)],
            )
        return Response({"contact": {"id": pk, "consent_given": level}})


urlpatterns = [
    path("bench/bare-center/", bare_center),
    path("bench/bare-consent/<int:pk>/", BareConsent.as_view()),
    path("", include("config.urls")),
]
