"""The product's URLs plus a bare view, served only by the benchmark's gunicorn (bench/wsgi.py)."""

from django.shortcuts import render
from django.urls import include, path

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


urlpatterns = [path("bench/bare-center/", bare_center), path("", include("config.urls"))]
