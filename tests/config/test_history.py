"""History on the records that govern processing: who changed which field, readable and
exportable per record, switchable per family in the compliance settings, never holding a secret
or an erased person's hash."""

import io

import pytest
from django.db import connection
from django.urls import reverse
from openpyxl import load_workbook

from contacts.models import SuppressedIdentity
from contacts.suppression import suppression_digests
from core.models import ComplianceSettings
from dsr.erasure import contacts_erase
from journeys.models import EmailTemplate, JourneyStep
from staff.api_auth import api_key_create, api_key_revoke
from staff.models import AccessLogEntry, ApiKey
from tests.admin_helpers import SETTINGS_FORM
from tests.factories import ContactFactory, make_journey, make_segment

pytestmark = pytest.mark.django_db


def _template() -> EmailTemplate:
    return EmailTemplate.objects.create(name="Welcome", subject="Hello", body="Hello {{ first_name }}")


def _edit_subject(client, template, subject: str):
    url = reverse("admin:journeys_emailtemplate_change", args=[template.pk])
    response = client.post(url, {"name": template.name, "subject": subject, "body": template.body})
    assert response.status_code == 302, response.content.decode()[:2000]


def _history_url(template, **params) -> str:
    from urllib.parse import urlencode

    url = reverse("admin:journeys_emailtemplate_history", args=[template.pk])
    return f"{url}?{urlencode(params)}" if params else url


def _table_text(model) -> str:
    """Every value in a model's history table, as one text (what someone with SQL access sees)."""
    table = model.history.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        return " ".join(str(value) for row in cursor.fetchall() for value in row)


def test_a_template_edit_appears_in_its_history_with_the_editor_and_the_field(client_as, marketer):
    template = _template()
    client = client_as(marketer)
    _edit_subject(client, template, "Welcome aboard")

    page = client.get(_history_url(template, field="subject")).content.decode()

    assert "Welcome aboard" in page and "Hello" in page
    assert "Subject" in page and "marketer" in page
    # Filtered by the subject: the body, set at creation, is not listed.
    assert "Hello {{ first_name }}" not in page
    assert "Hello {{ first_name }}" in client.get(_history_url(template)).content.decode()


def test_the_history_export_opens_in_excel_and_lists_the_edit(client_as, marketer):
    template = _template()
    client = client_as(marketer)
    _edit_subject(client, template, "=HYPERLINK(1)")

    response = client.get(_history_url(template, field="subject", export="xlsx"))

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("When", "Record", "Field", "From", "To", "By", "Reason")
    edit = next(row for row in rows[1:] if row[3] == "Hello")
    assert edit[2:6] == ("Subject", "Hello", "=HYPERLINK(1)", "marketer")
    formula = next(cell for cell in next(sheet.iter_rows(min_row=2)) if cell.value == "=HYPERLINK(1)")
    assert formula.data_type == "s"  # text, never run as a formula


def test_staff_without_a_role_cannot_read_or_export_a_records_history(client_as, outsider):
    template = _template()
    client = client_as(outsider)
    assert client.get(_history_url(template)).status_code == 403
    assert client.get(_history_url(template, export="xlsx")).status_code == 403
    assert client.get(reverse("admin:journeys_emailtemplate_history_all")).status_code == 403


def test_an_unknown_field_shows_every_change_with_a_warning(client_as, marketer):
    template = _template()
    response = client_as(marketer).get(_history_url(template, field="nonsense"))
    assert response.status_code == 200
    assert "There is no field" in response.content.decode()


def test_a_journey_step_change_shows_on_the_journeys_history(client_as, marketer):
    journey = make_journey(
        segment=make_segment({"field": "country", "op": "eq", "value": "DE"}), steps=("wait",)
    )
    step = journey.steps.get(kind=JourneyStep.Kind.WAIT)
    step.wait_days = 9
    step.save()

    url = reverse("admin:journeys_journey_history", args=[journey.pk])
    page = client_as(marketer).get(f"{url}?field=steps.wait_days").content.decode()

    assert "Wait (days)" in page and ">9<" in page


def test_an_api_keys_history_holds_no_secret(client_as, privacy_officer, auditor):
    key, text = api_key_create(user=privacy_officer, name="web shop sync")
    secret = text.partition(".")[2]
    api_key_revoke(prefix=key.prefix, actor=privacy_officer)

    assert list(key.history.values_list("history_type", flat=True).order_by("history_id")) == ["+", "~"]
    stored = _table_text(ApiKey)
    assert ApiKey.objects.get().key_hash not in stored and secret not in stored
    page = client_as(auditor).get(reverse("admin:staff_apikey_history", args=[key.pk])).content.decode()
    assert key.key_hash not in page and "officer" in page
    sheet = client_as(auditor).get(reverse("admin:staff_apikey_history", args=[key.pk]) + "?export=xlsx")
    assert key.key_hash.encode() not in b"".join(sheet.streaming_content)


def test_switching_a_family_off_stops_new_rows_and_the_switch_is_in_the_settings_history(
    client_as, privacy_officer, marketer
):
    template = _template()
    officer = client_as(privacy_officer)
    settings_url = reverse("admin:core_compliancesettings_change", args=[ComplianceSettings.load().pk])
    form = {**SETTINGS_FORM}
    form.pop("audit_email_templates")
    assert officer.post(settings_url, form).status_code == 302
    before = template.history.count()

    _edit_subject(client_as(marketer), template, "Not recorded")

    assert template.history.count() == before
    url = reverse("admin:core_compliancesettings_history", args=[1])
    page = officer.get(f"{url}?field=audit_email_templates").content.decode()
    assert "Audit email templates" in page and "officer" in page and ">No<" in page
    # Other families are still audited.
    journey = make_journey(segment=make_segment({"field": "country", "op": "eq", "value": "DE"}))
    assert journey.history.exists()


def test_suppression_history_records_who_lifted_an_entry_and_never_the_hash(
    client_as, privacy_officer, logging_on
):
    first = ContactFactory(email="leaving@example.org")
    contacts_erase(contacts=[first], actor=privacy_officer, scan=False)
    entry = SuppressedIdentity.objects.get(kind="email")
    officer = client_as(privacy_officer)

    response = officer.post(
        reverse("admin:contacts_suppressedidentity_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert response.status_code == 302 and not SuppressedIdentity.objects.filter(pk=entry.pk).exists()

    lifted = entry.history.model.objects.filter(id=entry.pk).order_by("history_id")
    assert [(row.history_type, row.history_user) for row in lifted] == [
        ("+", privacy_officer),
        ("-", privacy_officer),
    ]
    page = officer.get(reverse("admin:contacts_suppressedidentity_history_all")).content.decode()
    assert "Deleted" in page and f"#{entry.pk}" in page
    # The person comes back and is erased again: no history table holds their hash.
    second = ContactFactory(email="leaving@example.org")
    contacts_erase(contacts=[second], actor=privacy_officer, scan=False)
    (digest,) = suppression_digests(email="leaving@example.org")
    assert SuppressedIdentity.objects.filter(digest=digest).exists()
    assert digest not in _table_text(SuppressedIdentity)


def test_a_contacts_history_exports_for_who_may_export_contacts_and_is_logged(client_as, marketer, auditor):
    contact = ContactFactory(first_name="Ada")
    contact.first_name = "Augusta"
    contact.save()
    url = reverse("admin:contacts_contact_history", args=[contact.pk])

    response = client_as(marketer).get(f"{url}?field=first_name&export=xlsx")

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert ("First name", "Ada", "Augusta") in [row[2:5] for row in sheet.iter_rows(values_only=True)]
    assert AccessLogEntry.objects.filter(action=AccessLogEntry.Action.EXPORT_CONTACTS).exists()
    assert client_as(auditor).get(f"{url}?export=xlsx").status_code == 403


def test_a_journey_completed_by_the_scheduler_says_so_in_its_history(client_as, marketer):
    from datetime import timedelta

    from django.utils import timezone

    from journeys.services.enrolment import journeys_complete

    journey = make_journey(
        segment=make_segment({"field": "country", "op": "eq", "value": "DE"}),
        steps=("wait",),
        enrol_until=timezone.now() + timedelta(hours=1),
    )

    assert journeys_complete(now=timezone.now() + timedelta(hours=2)) == 1

    url = reverse("admin:journeys_journey_history", args=[journey.pk])
    page = client_as(marketer).get(f"{url}?field=status").content.decode()
    assert "Completed" in page and "enrolment window over" in page
