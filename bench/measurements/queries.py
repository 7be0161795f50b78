"""Reads: the eligibility query, the admin changelist, a contact's page with its access log."""

from __future__ import annotations

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.measurements.common import PAGE, Result, officer, raw_rows, timed
from consent.models import Purpose
from consent.selectors import eligible_contacts
from contacts.models import Contact

# --- eligibility ------------------------------------------------------------------------------


def _eligibility_sql(select: str, tail: str = "") -> str:
    # Only constant fragments are spliced in; values go through parameters.
    return (
        f"SELECT {select} FROM contacts_contact c WHERE c.processing_restricted = %s AND c.consent_given >= %s "
        "AND EXISTS (SELECT 1 FROM consent_purposeconsent pc WHERE pc.contact_id = c.id "
        f"AND pc.purpose_id = %s AND pc.granted = %s) {tail}"
    )


def eligibility(repeat: int) -> list[Result]:
    purpose = Purpose.objects.get(slug="newsletter")
    params = [False, 4, purpose.pk, True]
    selected = eligible_contacts(min_level=4, purpose="newsletter")
    n = Contact.objects.count()

    count_s, count = timed(lambda: selected.count(), repeat)
    raw_count_s, raw_count = timed(lambda: raw_rows(_eligibility_sql("COUNT(*)"), params)[0][0], repeat)
    page_s, page = timed(lambda: list(selected.order_by("id").values_list("id", flat=True)[:PAGE]), repeat)
    raw_page_s, raw_page = timed(
        lambda: [r[0] for r in raw_rows(_eligibility_sql("c.id", f"ORDER BY c.id LIMIT {PAGE}"), params)],
        repeat,
    )
    same = set(selected.values_list("id", flat=True)) == {
        r[0] for r in raw_rows(_eligibility_sql("c.id"), params)
    }
    agree = {"same_set": same, "count": count, "baseline_count": raw_count, "same_page": page == raw_page}
    return [
        Result("eligibility count", n, count_s, raw_count_s, extra=agree),
        Result("eligibility first page", n, page_s, raw_page_s, extra={"same_page": page == raw_page}),
    ]


# --- admin changelist -------------------------------------------------------------------------


def changelist(repeat: int) -> list[Result]:
    client = Client()
    client.force_login(officer())
    url = reverse("admin:contacts_contact_changelist") + "?consent_given__exact=4"

    def page():
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return response

    view_s, _ = timed(page, repeat)
    with CaptureQueriesContext(connection) as queries:
        page()
    full_counts = sum(
        "COUNT(" in q["sql"].upper() and "LIMIT" not in q["sql"].upper() for q in queries.captured_queries
    )
    raw_s, _ = timed(
        lambda: raw_rows(
            "SELECT id, first_name, last_name, email, phone, consent_given, tracking_allowed, is_child, "
            f"processing_restricted FROM contacts_contact WHERE consent_given = %s ORDER BY id DESC LIMIT {PAGE}",
            [4],
        ),
        repeat,
    )
    extra = {"queries": len(queries.captured_queries), "uncapped_count_queries": full_counts}
    return [
        Result("admin changelist (filtered, page 1)", Contact.objects.count(), view_s, raw_s, extra=extra)
    ]


def access_log(repeat: int) -> list[Result]:
    """A contact's admin page, which writes one access log entry per view, vs the same page with
    the log call swapped out for this measurement only: what the log costs staff per view."""
    import consent.admin.contacts

    client = Client()
    client.force_login(officer())
    contact_id = Contact.objects.order_by("id").values_list("id", flat=True).first()
    url = reverse("admin:contacts_contact_change", args=[contact_id])

    def page():
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return response

    with transaction.atomic():  # the entries written here do not stay in the dataset
        logged_s, _ = timed(page, repeat)
        original = consent.admin.contacts.record_access
        consent.admin.contacts.record_access = lambda **kwargs: None
        try:
            unlogged_s, _ = timed(page, repeat)
        finally:
            consent.admin.contacts.record_access = original
        transaction.set_rollback(True)
    extra = {"log_cost_ms": round((logged_s - unlogged_s) * 1000, 2)}
    return [
        Result("contact page with access log", Contact.objects.count(), logged_s, unlogged_s, extra=extra)
    ]
