"""The staff access log: who looked at or exported whose data, and nobody can rewrite it."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import Source
from consent.services import consent_change
from staff.access_log import access_log_purge
from staff.models import AccessedContact, AccessLogEntry
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_viewing_a_contact_and_its_history_is_logged_with_who_and_which_contact(client_as, marketer):
    contact = ContactFactory()
    client = client_as(marketer)
    client.get(reverse("admin:contacts_contact_change", args=[contact.pk]), REMOTE_ADDR="203.0.113.9")
    client.get(reverse("admin:contacts_contact_history", args=[contact.pk]))
    entries = list(AccessLogEntry.objects.order_by("id"))
    assert [(e.user, e.action, e.contact_count) for e in entries] == [
        (marketer, "view", 1),
        (marketer, "history", 1),
    ]
    assert entries[0].ip == "203.0.113.9" and entries[0].request_id
    assert set(AccessedContact.objects.values_list("contact_id", flat=True)) == {contact.pk}


def test_an_export_logs_every_contact_it_contains_in_one_entry(client_as, privacy_officer):
    contacts = ContactFactory.create_batch(7)
    client_as(privacy_officer).get(reverse("admin:contacts_contact_export"))
    entry = AccessLogEntry.objects.get(action="export_contacts")
    assert entry.contact_count == 7
    assert set(entry.contacts.values_list("contact_id", flat=True)) == {c.pk for c in contacts}


def test_exporting_consent_records_logs_their_contacts_once_each(client_as, auditor, logging_on):
    contact = ContactFactory()
    for level in (1, 2, 3):
        consent_change(contact=contact, level=level, source=Source.IMPORT)
    client_as(auditor).get(reverse("admin:consent_consentchange_export"))
    entry = AccessLogEntry.objects.get(action="export_consent")
    assert entry.contact_count == 1


def test_the_contact_page_shows_who_accessed_it_to_officers_only(client_as, privacy_officer, marketer):
    contact = ContactFactory()
    client_as(marketer).get(reverse("admin:contacts_contact_change", args=[contact.pk]))
    page = (
        client_as(privacy_officer)
        .get(reverse("admin:contacts_contact_change", args=[contact.pk]))
        .content.decode()
    )
    assert "who accessed this record" in page.lower() and "marketer" in page
    marketer_page = (
        client_as(marketer).get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    )
    assert "who accessed this record" not in marketer_page.lower()


def test_the_log_filters_by_contact(client_as, privacy_officer, auditor):
    wanted, other = ContactFactory(), ContactFactory()
    officer = client_as(privacy_officer)
    officer.get(reverse("admin:contacts_contact_change", args=[wanted.pk]))
    officer.get(reverse("admin:contacts_contact_change", args=[other.pk]))
    listing = client_as(auditor).get(
        reverse("admin:staff_accesslogentry_changelist"), {"contacts__contact__id__exact": wanted.pk}
    )
    assert [e.contacts.get().contact_id for e in listing.context["cl"].result_list] == [wanted.pk]


def test_entries_past_the_retention_period_are_purged(privacy_officer):
    old = AccessLogEntry.objects.create(
        user=privacy_officer, action="view", at=timezone.now() - timedelta(days=731)
    )
    recent = AccessLogEntry.objects.create(
        user=privacy_officer, action="view", at=timezone.now() - timedelta(days=700)
    )
    assert access_log_purge() == 1
    assert list(AccessLogEntry.objects.all()) == [recent]
    assert not AccessLogEntry.objects.filter(pk=old.pk).exists()


def _refused(statement, params):
    from django.db import DatabaseError, connection, transaction

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, params)


def test_the_database_refuses_to_rewrite_or_delete_an_entry_inside_the_retention_period(privacy_officer):
    recent = AccessLogEntry.objects.create(user=privacy_officer, action="view", contact_count=1)
    AccessedContact.objects.create(entry=recent, contact_id=7)
    _refused("UPDATE staff_accesslogentry SET user_id = %s WHERE id = %s", [UserFactory().pk, recent.pk])
    _refused("UPDATE staff_accesslogentry SET contact_count = 0 WHERE id = %s", [recent.pk])
    _refused(
        "UPDATE staff_accesslogentry SET at = %s WHERE id = %s",
        [timezone.now() - timedelta(days=900), recent.pk],
    )
    _refused("DELETE FROM staff_accesslogentry WHERE id = %s", [recent.pk])
    # The retention period cannot be dodged by deleting through the ORM either.
    _refused("DELETE FROM staff_accesslogentry WHERE at > %s", [timezone.now() - timedelta(days=1)])
    recent.refresh_from_db()
    assert recent.contact_count == 1 and recent.user == privacy_officer


def test_a_retention_shorter_than_the_database_allows_is_refused_with_a_message(db):
    from django.core.exceptions import ValidationError

    from core.models import ComplianceSettings

    settings = ComplianceSettings.load()
    settings.access_log_retention_days = 7
    with pytest.raises(ValidationError, match="greater than or equal to 30"):
        settings.full_clean()


def _login_page(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def test_password_sign_ins_to_the_admin_are_logged_like_single_sign_on(client, marketer):
    login = reverse("admin:login")
    wrong = client.post(login, {"username": "marketer", "password": "Tr0ub4dor&3"}, REMOTE_ADDR="203.0.113.9")
    unknown = client.post(login, {"username": "nobody-here", "password": "Tr0ub4dor&3"})
    # The page answers a wrong password and an unknown name alike; only the real account is logged.
    assert wrong.status_code == unknown.status_code == 200
    assert "Please enter the correct username and password" in wrong.text
    assert _login_page(wrong.text.replace('value="marketer"', 'value="nobody-here"')) == _login_page(
        unknown.text
    )
    signed_in = client.post(login, {"username": "marketer", "password": "correct-horse-battery-staple"})
    assert signed_in.status_code == 302
    entries = list(AccessLogEntry.objects.order_by("id"))
    assert [(e.user, e.action, e.path, e.contact_count) for e in entries] == [
        (marketer, "password_refused", "/admin/login/?refused=password", 0),
        (marketer, "password_login", "/admin/login/", 0),
    ]
    assert entries[0].ip == "203.0.113.9"
    stored = [str(v) for e in entries for v in AccessLogEntry.objects.filter(pk=e.pk).values().get().values()]
    assert not any("Tr0ub4dor" in v or "correct-horse" in v or "nobody-here" in v for v in stored)


def test_the_purge_deletes_in_short_batches_and_keeps_what_is_recent(privacy_officer, settings):
    """At scale one DELETE held every old row until it ended: LONG_JOB_BATCH_SIZE rows per
    transaction, the same entries gone and kept."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.LONG_JOB_BATCH_SIZE = 2
    old = timezone.now() - timedelta(days=731)
    for _ in range(5):
        AccessLogEntry.objects.create(user=privacy_officer, action="view", at=old)
    recent = AccessLogEntry.objects.create(user=privacy_officer, action="view", at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        assert access_log_purge() == 5
    assert list(AccessLogEntry.objects.all()) == [recent]
    deletes = [q for q in queries if q["sql"].startswith('DELETE FROM "staff_accesslogentry"')]
    assert len(deletes) == 3  # 2 + 2 + 1
