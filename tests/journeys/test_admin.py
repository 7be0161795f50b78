"""The journeys admin without a browser: a segment's count, preview and export; journeys' minimum
consent field and actions, as each role sees them."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from contacts.services import contact_update
from core.levels import ConsentLevel
from core.models import ComplianceSettings
from journeys.models import EmailTemplate, Journey, Segment, SegmentExport
from journeys.services import segment_update
from staff.models import AccessLogEntry
from tests.factories import make_journey, make_segment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # export files of one test do not outlive it


@pytest.fixture
def scene(member):
    anna, bob = member(first_name="Anna"), member(first_name="=HYPERLINK(1)")
    hidden = member(first_name="Hidden")
    contact_update(contact=hidden, processing_restricted=True)
    member(first_name="Franz", country="FR")
    return {"segment": make_segment(), "members": [anna, bob], "restricted": hidden}


def change_url(obj):
    return reverse(f"admin:journeys_{obj._meta.model_name}_change", args=[obj.pk])


def test_the_segment_page_shows_the_eligible_member_count_and_a_preview(scene, marketer, client_as):
    page = client_as(marketer).get(change_url(scene["segment"])).content.decode()
    assert "members who may be processed" in page  # the builder's count, the selector's figure
    assert '<strong id="segment-count">2</strong>' in page
    assert "Anna" in page and "Hidden" not in page and "Franz" not in page
    # Whoever reads the rules as JSON (?json=1, or a reader without the change right) gets the
    # saved segment's count and preview as before.
    page = client_as(marketer).get(change_url(scene["segment"]) + "?json=1").content.decode()
    assert '<div class="readonly">2</div>' in page and "Anna" in page and "Hidden" not in page
    listing = client_as(marketer).get(reverse("admin:journeys_segment_changelist")).content.decode()
    assert '<td class="field-member_count">2</td>' in listing


def test_invalid_rules_are_shown_on_the_form_and_nothing_is_saved(newsletter, marketer, client_as):
    response = client_as(marketer).post(
        reverse("admin:journeys_segment_add"),
        {"name": "Shoes", "description": "", "rules": '{"field": "shoe_size", "op": "eq", "value": "42"}'},
    )
    assert response.status_code == 200
    assert "there is no contact field “shoe_size”" in response.content.decode()
    assert not Segment.objects.filter(name="Shoes").exists()


def _export(client, segment, action, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:journeys_segment_changelist"),
            {"action": action, "_selected_action": [segment.pk]},
            follow=True,
        )
    return response


def test_a_marketer_exports_members_to_excel_as_a_job_with_progress_and_a_download(
    scene, marketer, client_as, eager_tasks, django_capture_on_commit_callbacks
):
    client = client_as(marketer)
    response = _export(client, scene["segment"], "export_xlsx", django_capture_on_commit_callbacks)
    assert "Export of “Newsletter DE” started." in response.content.decode()
    export = SegmentExport.objects.get()
    assert (export.status, export.total, export.written, export.progress) == ("done", 2, 2, 100)
    listing = client.get(reverse("admin:journeys_segmentexport_changelist")).content.decode()
    assert '<progress class="job-progress" max="100" value="100"' in listing and "Download" in listing
    download = client.get(reverse("admin:journeys_segmentexport_download", args=[export.pk]))
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Contact id", "First name", "Last name")
    assert rows[0][-2:] == ("Consent level", "Consent")  # the level as a number and in words
    assert {(r[-2], r[-1]) for r in rows[1:]} <= {(level, label) for level, label in ConsentLevel.choices}
    assert all(isinstance(r[-1], str) and r[-1] for r in rows[1:])
    assert sorted(r[0] for r in rows[1:]) == sorted(c.pk for c in scene["members"])
    formula = next(c for c in sheet.iter_rows(min_row=2) if c[1].value.startswith("="))[1]
    assert formula.data_type == "s" and formula.quotePrefix  # shown as text, never run
    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.EXPORT_CONTACTS, user=marketer)
    assert set(entry.contacts.values_list("contact_id", flat=True)) == {c.pk for c in scene["members"]}


def test_a_csv_export_neutralises_formulas(
    scene, marketer, client_as, eager_tasks, django_capture_on_commit_callbacks
):
    client = client_as(marketer)
    _export(client, scene["segment"], "export_csv", django_capture_on_commit_callbacks)
    export = SegmentExport.objects.get()
    download = client.get(reverse("admin:journeys_segmentexport_download", args=[export.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert len(rows) == 3
    assert "'=HYPERLINK(1)" in [row[1] for row in rows]


def test_an_auditor_sees_segments_but_cannot_export_or_download(
    scene, marketer, auditor, client_as, eager_tasks, django_capture_on_commit_callbacks
):
    _export(client_as(marketer), scene["segment"], "export_xlsx", django_capture_on_commit_callbacks)
    client = client_as(auditor)
    _export(client, scene["segment"], "export_xlsx", django_capture_on_commit_callbacks)
    assert SegmentExport.objects.count() == 1
    page = client.get(reverse("admin:journeys_segment_changelist")).content.decode()
    assert "export_xlsx" not in page
    download = client.get(
        reverse("admin:journeys_segmentexport_download", args=[SegmentExport.objects.get().pk])
    )
    assert download.status_code == 403


def _min_level_is_editable(client, journey) -> bool:
    return 'name="min_level"' in client.get(change_url(journey)).content.decode()


def test_the_minimum_consent_is_read_only_without_the_switch_and_once_live(newsletter, marketer, client_as):
    client = client_as(marketer)
    draft = make_journey(live=False)
    assert not _min_level_is_editable(client, draft)
    settings = ComplianceSettings.load()
    settings.min_consent_level_selection_enabled = True
    settings.save()
    assert _min_level_is_editable(client, draft)
    live = make_journey(name="Live")
    assert not _min_level_is_editable(client, live)


def test_go_live_and_stop_from_the_journey_list(newsletter, marketer, client_as):
    client = client_as(marketer)
    journey = make_journey(live=False)
    url = reverse("admin:journeys_journey_changelist")
    response = client.post(url, {"action": "go_live", "_selected_action": [journey.pk]}, follow=True)
    assert "“Welcome” is live." in response.content.decode()
    response = client.post(url, {"action": "go_live", "_selected_action": [journey.pk]}, follow=True)
    assert "Only a draft journey can go live" in response.content.decode()
    client.post(url, {"action": "stop", "_selected_action": [journey.pk]})
    journey.refresh_from_db()
    assert journey.status == Journey.Status.STOPPED


def test_a_segment_name_excel_refuses_as_a_sheet_title_still_exports(
    scene, marketer, client_as, eager_tasks, django_capture_on_commit_callbacks
):
    segment = segment_update(segment=scene["segment"], name="News/DE: [all]?")
    _export(client_as(marketer), segment, "export_xlsx", django_capture_on_commit_callbacks)
    export = SegmentExport.objects.get()
    assert (export.status, export.written) == ("done", 2)


def test_a_marketer_creates_a_draft_journey_with_steps_in_the_admin(newsletter, marketer, client_as):
    segment = make_segment()
    template = EmailTemplate.objects.create(name="Hi", subject="Hi {{ first_name }}", body="Hello")
    steps = {"steps-TOTAL_FORMS": "3", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0"}
    for i, (kind, extra) in enumerate(
        [
            ("email", {"template": template.pk}),
            ("wait", {"wait_days": 7}),
            ("task", {"task_user": marketer.pk}),
        ]
    ):
        steps |= {f"steps-{i}-position": i, f"steps-{i}-kind": kind, f"steps-{i}-task_title": "Call"}
        steps |= {f"steps-{i}-{k}": v for k, v in extra.items()}
    response = client_as(marketer).post(
        reverse("admin:journeys_journey_add"),
        {"name": "Welcome", "segment": segment.pk, "purpose": newsletter.pk, **steps},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    journey = Journey.objects.get(name="Welcome")
    assert (journey.status, journey.min_level) == ("draft", 4)
    assert [s.kind for s in journey.steps.all()] == ["email", "wait", "task"]
    assert journey.history.first().history_user == marketer


def test_a_mail_interrupted_while_sending_is_shown_on_the_enrolment_and_can_be_filtered(
    member, smtp, marketer, client_as
):
    """Anna's worker died after handing her mail to the server; Carl's before. The run repeats
    only Carl's, and the admin tells which enrolment holds a mail that may or may not have gone out."""
    from datetime import timedelta

    from django.utils import timezone

    from journeys.models import Enrolment, StepRun
    from journeys.services import claim_timeout, journey_enrol, journeys_run

    journey = make_journey(steps=("email", "task"))
    anna, carl = member(first_name="Anna"), member(first_name="Carl")
    now = timezone.now()
    journey_enrol(journey=journey, now=now)
    step = journey.steps.get(position=0)
    for contact, status in ((anna, "sending"), (carl, "claimed")):
        StepRun.objects.create(
            enrolment=Enrolment.objects.get(contact=contact),
            step=step,
            status=status,
            claimed_at=now - claim_timeout() - timedelta(minutes=1),
        )
    journeys_run(now=now)

    client = client_as(marketer)
    listing = reverse("admin:journeys_enrolment_changelist")
    filtered = client.get(listing, {"interrupted": "yes"}).context["cl"].result_list
    assert [e.contact for e in filtered] == [anna]
    page = client.get(reverse("admin:journeys_enrolment_change", args=[filtered[0].pk])).content.decode()
    assert "Interrupted while sending, not repeated" in page
    carls = Enrolment.objects.get(contact=carl)
    page = client.get(reverse("admin:journeys_enrolment_change", args=[carls.pk])).content.decode()
    assert "Interrupted while sending" not in page and "Done" in page
