"""Consent change records, purposes and compliance settings in the admin."""

import io

import openpyxl
import pytest
from django.urls import reverse

from consent.models import ConsentChange, Source
from consent.services import consent_change, consent_changes_pseudonymise
from core.models import ComplianceSettings
from staff.models import AccessLogEntry
from tests.admin_helpers import SETTINGS_FORM, admin_search
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

RECORDS = reverse("admin:consent_consentchange_changelist")
RECORDS_EXPORT = reverse("admin:consent_consentchange_export")


@pytest.fixture
def record(logging_on, privacy_officer):
    contact = ContactFactory(email="holly@contoso.com")
    consent_change(
        contact=contact,
        level=3,
        source=Source.ADMIN,
        actor=privacy_officer,
        justification="letter of 3 March",
    )
    return ConsentChange.objects.get(contact=contact)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", "x-long-password-123")


def test_records_cannot_be_added_changed_or_deleted_in_the_admin_even_by_a_superuser(
    client, superuser, record
):
    client.force_login(superuser)
    change = reverse("admin:consent_consentchange_change", args=[record.pk])
    page = client.get(change)
    assert page.status_code == 200  # readable
    assert 'name="_save"' not in page.content.decode()
    assert client.post(change, {"justification": "rewritten", "new_value": "5"}).status_code == 403
    assert client.get(reverse("admin:consent_consentchange_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:consent_consentchange_delete", args=[record.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    listing = client.get(RECORDS)
    assert "delete_selected" not in dict(listing.context["action_form"].fields["action"].choices)
    record.refresh_from_db()
    assert (record.justification, record.new_value) == ("letter of 3 March", "3")


def test_records_list_filters_by_source_and_searches_by_email(client_as, auditor, record):
    other = ContactFactory(email="ivy@contoso.com")
    consent_change(contact=other, level=2, source=Source.IMPORT)
    client = client_as(auditor)
    assert list(client.get(RECORDS, {"source__exact": "admin"}).context["cl"].result_list) == [record]
    assert list(admin_search(client, RECORDS, "HOLLY@contoso.com").context["cl"].result_list) == [record]


def test_auditor_exports_the_filtered_consent_history(client_as, auditor, record):
    consent_change(contact=ContactFactory(), level=2, source=Source.IMPORT)
    response = client_as(auditor).get(RECORDS_EXPORT, {"source__exact": "admin"})
    rows = [
        list(r)
        for r in openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values
    ]
    header, body = rows[0], rows[1:]
    assert len(body) == 1
    exported = dict(zip(header, body[0], strict=True))
    assert exported["Contact email"] == "holly@contoso.com"
    assert (exported["From"], exported["To"]) == ("0 None", "3 Subscriptions")
    assert exported["Source"] == "Admin" and exported["Justification"] == "letter of 3 March"
    assert exported["By"] == record.actor.username


def test_formula_in_a_justification_is_neutralised_in_the_export(client_as, auditor, logging_on):
    consent_change(contact=ContactFactory(), level=1, source=Source.ADMIN, justification="=cmd|' /C calc'!A0")
    response = client_as(auditor).get(RECORDS_EXPORT)
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    cell = next(sheet.iter_rows(min_row=2))[header.index("Justification")]
    assert cell.data_type == "s" and cell.quotePrefix
    assert cell.value == "=cmd|' /C calc'!A0"


def test_export_after_an_erasure_shows_pseudonymised_records_without_a_contact(client_as, auditor, record):
    consent_changes_pseudonymise(ConsentChange.objects.filter(pk=record.pk))
    ivy = ContactFactory(first_name="Ivy", last_name="Green", email="ivy@contoso.com")
    consent_change(contact=ivy, level=2, source=Source.IMPORT)
    response = client_as(auditor).get(RECORDS_EXPORT)
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    exported = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(r["Contact ID"], r["Contact"], r["Contact email"], r["To"]) for r in exported] == [
        (None, None, None, "3 Subscriptions"),
        (ivy.pk, "Ivy Green", "ivy@contoso.com", "2 Transactional"),
    ]
    # The access log names the one contact the export still leads to.
    assert AccessLogEntry.objects.get(action="export_consent").contact_count == 1


def test_marketer_may_read_but_not_export_consent_history(client_as, marketer, record):
    client = client_as(marketer)
    assert client.get(RECORDS).status_code == 200
    assert client.get(RECORDS_EXPORT).status_code == 403
    response = client.post(RECORDS, {"action": "export_selected_xlsx", "_selected_action": [record.pk]})
    assert response.status_code != 200 or response.get("Content-Type", "").startswith("text/html")


@pytest.mark.parametrize(
    "url", [RECORDS, RECORDS_EXPORT, reverse("admin:core_compliancesettings_changelist")]
)
def test_outsider_is_refused_consent_pages(client_as, outsider, url):
    assert client_as(outsider).get(url).status_code == 403


def test_compliance_settings_is_one_row_that_cannot_be_added_or_deleted(client_as, privacy_officer):
    client = client_as(privacy_officer)
    response = client.get(reverse("admin:core_compliancesettings_changelist"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:core_compliancesettings_change", args=[1])
    assert client.get(reverse("admin:core_compliancesettings_add")).status_code == 403
    assert (
        client.post(reverse("admin:core_compliancesettings_delete", args=[1]), {"post": "yes"}).status_code
        == 403
    )
    assert ComplianceSettings.objects.count() == 1


def test_switching_consent_logging_on_in_the_admin_takes_effect_and_is_itself_recorded(
    client_as, privacy_officer
):
    contact = ContactFactory()
    consent_change(contact=contact, level=1, source=Source.IMPORT)
    assert not ConsentChange.objects.exists()  # off by default, like a new installation

    url = reverse("admin:core_compliancesettings_change", args=[1])
    data = {
        "log_consent_changes": "on",
        **SETTINGS_FORM,
    }
    assert client_as(privacy_officer).post(url, data).status_code == 302
    consent_change(contact=contact, level=2, source=Source.IMPORT)
    assert ConsentChange.objects.count() == 1
    latest = ComplianceSettings.history.first()
    assert latest.log_consent_changes is True and latest.history_user == privacy_officer


def test_auditor_cannot_change_compliance_settings(client_as, auditor):
    url = reverse("admin:core_compliancesettings_change", args=[1])
    ComplianceSettings.load()
    assert client_as(auditor).post(url, {"log_consent_changes": "on"}).status_code == 403
    assert ComplianceSettings.load().log_consent_changes is False


def _another_value(field, current):
    """A valid form value for `field` that differs from `current`, as the browser would post it."""
    from django.db import models

    if isinstance(field, models.BooleanField):
        return None if current else "on"  # an unticked box is simply absent from the post
    if field.choices:
        return next(value for value, _label in field.choices if value != current)
    if isinstance(field, models.FileField):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from tests.images import image_bytes

        return SimpleUploadedFile("logo.png", image_bytes(), content_type="image/png")
    if isinstance(field, models.URLField):
        return "https://contoso.example/privacy" if current != "https://contoso.example/privacy" else ""
    if field.name == "brand_colour":
        return "#0b5394" if current != "#0b5394" else "#1b1b1b"
    if isinstance(field, models.EmailField):
        return (
            "another.officer@example.org" if current != "another.officer@example.org" else "dpo@example.org"
        )
    if isinstance(field, (models.CharField, models.TextField)):
        return f"{current} changed".strip()
    return str(current + 1)


def test_every_compliance_setting_can_be_set_in_the_admin(client_as, privacy_officer):
    """Walks the model, so a new setting left out of the form fails here."""
    settings = ComplianceSettings.load()
    fields = [f for f in ComplianceSettings._meta.concrete_fields if f.editable and not f.primary_key]
    assert {"request_clock_starts_at", "interaction_retention_days", "export_link_days"} <= {
        f.name for f in fields
    }
    url = reverse("admin:core_compliancesettings_change", args=[1])
    client = client_as(privacy_officer)
    form = client.get(url).context["adminform"].form
    assert set(form.fields) == {f.name for f in fields}

    wanted = {f.name: _another_value(f, getattr(settings, f.name)) for f in fields}
    response = client.post(url, {name: value for name, value in wanted.items() if value is not None})
    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = ComplianceSettings.load()
    for f in fields:
        assert getattr(saved, f.name) != getattr(settings, f.name), f.name


def test_a_marketer_sees_no_change_record_of_a_hidden_field_anywhere(
    client_as, marketer, auditor, logging_on
):
    """The is_child records tell who is (or was) a child: hidden from a Marketer like the field."""
    import datetime as dt

    from consent.services import children_come_of_age

    guardian = ContactFactory(email="parent@example.org")
    grown = ContactFactory(
        email="teen@example.org", is_child=True, guardian=guardian, date_of_birth=dt.date(2000, 1, 1)
    )
    children_come_of_age()
    consent_change(contact=grown, level=2, source=Source.IMPORT)
    hidden = ConsentChange.objects.get(field="is_child")
    visible = ConsentChange.objects.get(field="consent_given")

    client = client_as(marketer)
    assert [r.pk for r in client.get(RECORDS).context["cl"].result_list] == [visible.pk]
    filtered = client.get(f"{RECORDS}?field__exact=is_child")
    assert hidden not in filtered.context["cl"].result_list
    offered = {
        value
        for spec in filtered.context["cl"].filter_specs
        for value, _label in getattr(spec, "lookup_choices", [])
    }
    assert "consent_given" in offered and "is_child" not in offered  # not even offered as a filter
    assert client.get(reverse("admin:consent_consentchange_change", args=[hidden.pk])).status_code == 302
    contact_page = client.get(reverse("admin:contacts_contact_change", args=[grown.pk]))
    inline = next(f for f in contact_page.context["inline_admin_formsets"] if f.opts.model is ConsentChange)
    assert [form.original.pk for form in inline] == [visible.pk]

    auditor_records = client_as(auditor).get(f"{RECORDS}?field__exact=is_child").context["cl"].result_list
    assert [r.pk for r in auditor_records] == [hidden.pk]


def test_a_marketer_sees_no_change_record_of_a_restricted_contact(client_as, marketer, auditor, record):
    from contacts.services import contact_update

    contact_update(contact=record.contact, processing_restricted=True, reason="DSR restriction")
    assert list(client_as(marketer).get(RECORDS).context["cl"].result_list) == []
    assert [r.pk for r in client_as(auditor).get(RECORDS).context["cl"].result_list] == [record.pk]
