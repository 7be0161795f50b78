"""Every admin page and every API endpoint as every persona: the tables below are the product's
permission policy.

Adding an admin without adding it here fails test_every_admin_page_is_in_the_matrix; adding an API
route or method fails test_every_api_endpoint_is_in_the_matrix.
"""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from consent.models import ConsentChange, ConsentLevelSnapshot, Source
from consent.services import consent_change, consent_level_snapshot_take
from contacts.deliverability import bounce_record
from contacts.models import LegalHold, SuppressedIdentity
from contacts.suppression import suppression_add
from core.levels import level_wordings_ensure
from core.models import ComplianceSettings, LevelWording
from dsr.models import ErasureRecord, ExportBundle
from dsr.services import dsr_create
from imports.models import ImportRun, ImportSource, Rectification
from journeys.models import EmailTemplate, Enrolment, Journey, JourneyTask, Score, ScoringModel, ScoringRule
from journeys.services import journeys_run, lead_scores_compute, segment_export_start
from mailsignals.models import MailSignal
from staff.api_auth import api_key_create
from staff.models import AccessLogEntry
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import RequestMeta, signup, subscription_set
from tests.factories import (
    SHIPPED_JOURNEYS,
    ContactFactory,
    PurposeFactory,
    make_journey,
    make_segment,
    with_consent,
)
from webhooks.models import Delivery, Endpoint

O, M, A = "privacy_officer", "marketer", "auditor"  # noqa: E741 (a table reads better with initials)
ALL = {O, M, A}
NONE: set = set()
READ_ONLY_FOR_OFFICER_AND_AUDITOR = {"view": {O, A}, "add": NONE, "change": NONE, "delete": NONE}
STAFF_ONLY_FOR_SUPERUSERS = {"view": NONE, "add": NONE, "change": NONE, "delete": NONE}

MATRIX = {
    "contacts.contact": {"view": ALL, "add": {O, M}, "change": {O, M}, "delete": NONE, "export": {O, M}},
    "consent.consentchange": {"view": ALL, "add": NONE, "change": NONE, "delete": NONE, "export": {O, A}},
    "consent.purpose": {"view": ALL, "add": {O}, "change": {O}, "delete": {O}},
    "core.compliancesettings": {"view": {O, A}, "add": NONE, "change": {O}, "delete": NONE},
    # The six levels' words: officers reword them; nobody adds or deletes a level.
    "core.levelwording": {"view": {O, A}, "add": NONE, "change": {O}, "delete": NONE},
    "consent.consentlevelsnapshot": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "django_celery_beat.periodictask": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "django_celery_beat.crontabschedule": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "django_celery_beat.intervalschedule": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "django_celery_beat.solarschedule": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "django_celery_beat.clockedschedule": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "subscriptions.subscriptionlist": {"view": ALL, "add": {O, M}, "change": {O, M}, "delete": {O, M}},
    "subscriptions.subscription": {"view": ALL, "add": NONE, "change": NONE, "delete": NONE},
    "subscriptions.consentrequest": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "dsr.erasurerecord": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "dsr.exportbundle": {"view": {O, A}, "add": NONE, "change": {O}, "delete": NONE, "progress": {O, A}},
    "dsr.datasubjectrequest": {"view": {O, A}, "add": {O}, "change": {O}, "delete": NONE},
    "contacts.suppressedidentity": {"view": {O}, "add": NONE, "change": NONE, "delete": {O}},
    "staff.apikey": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "staff.accesslogentry": {"view": {O, A}, "add": NONE, "change": NONE, "delete": NONE, "export": {O, A}},
    "journeys.segment": {"view": ALL, "add": {O, M}, "change": {O, M}, "delete": {O, M}},
    "journeys.segmentexport": {"view": ALL, "add": NONE, "change": NONE, "delete": NONE, "progress": ALL},
    "journeys.emailtemplate": {"view": ALL, "add": {O, M}, "change": {O, M}, "delete": {O, M}},
    "journeys.journey": {"view": ALL, "add": {O, M}, "change": {O, M}, "delete": {O, M}},
    "journeys.enrolment": {"view": ALL, "add": NONE, "change": NONE, "delete": NONE},
    "journeys.journeytask": {"view": ALL, "add": NONE, "change": {O, M}, "delete": NONE},
    "journeys.scoringmodel": {"view": ALL, "add": {O, M}, "change": {O, M}, "delete": {O, M}},
    "journeys.score": {"view": ALL, "add": NONE, "change": NONE, "delete": NONE},
    "imports.importsource": {"view": {O, A}, "add": {O}, "change": {O}, "delete": {O}},
    "imports.importrun": {**READ_ONLY_FOR_OFFICER_AND_AUDITOR, "progress": {O, A}},
    # Bulk rectification: officers upload (contacts.rectify_contact); auditors follow the runs.
    "imports.rectification": {**READ_ONLY_FOR_OFFICER_AND_AUDITOR, "add": {O}, "progress": {O, A}},
    "webhooks.endpoint": {"view": {O}, "add": {O}, "change": {O}, "delete": {O}},
    "webhooks.delivery": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "contacts.deliverability": {"view": {O, A}, "add": NONE, "change": {O}, "delete": NONE},
    "contacts.legalhold": {"view": {O, A}, "add": {O}, "change": {O}, "delete": {O}},
    "mailsignals.mailsignal": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    # The breach register: officers record (nobody deletes, Art. 33(5)); auditors read; marketers nothing.
    "breaches.breach": {"view": {O, A}, "add": {O}, "change": {O}, "delete": NONE, "export": {O, A}},
    "breaches.breachnotice": READ_ONLY_FOR_OFFICER_AND_AUDITOR,
    "auth.user": STAFF_ONLY_FOR_SUPERUSERS,
    "staff.staffidentity": STAFF_ONLY_FOR_SUPERUSERS,
    "auth.group": STAFF_ONLY_FOR_SUPERUSERS,
}
PERSONAS = [O, M, A, "outsider"]


def make_object(label, user):
    from django.utils import timezone

    match label:
        case "contacts.contact":
            return ContactFactory()
        case "consent.consentchange":
            consent_change(contact=ContactFactory(), level=2, source=Source.IMPORT)
            return ConsentChange.objects.latest("id")
        case "consent.purpose":
            return PurposeFactory()
        case "core.compliancesettings":
            return ComplianceSettings.load()
        case "core.levelwording":
            level_wordings_ensure()
            return LevelWording.objects.get(level=4)
        case "consent.consentlevelsnapshot":
            consent_level_snapshot_take()
            return ConsentLevelSnapshot.objects.first()
        case "django_celery_beat.periodictask":
            return PeriodicTask.objects.first()
        case "django_celery_beat.crontabschedule":
            return CrontabSchedule.objects.first()
        case "django_celery_beat.intervalschedule":
            return IntervalSchedule.objects.create(every=5, period="minutes")
        case "django_celery_beat.solarschedule":
            return SolarSchedule.objects.create(event="sunrise", latitude=52.5, longitude=13.4)
        case "django_celery_beat.clockedschedule":
            return ClockedSchedule.objects.create(clocked_time=timezone.now())
        case "subscriptions.subscriptionlist":
            return SubscriptionList.objects.create(name="News", slug="news")
        case "subscriptions.subscription" | "subscriptions.consentrequest":
            lst = SubscriptionList.objects.create(name="News", slug="news")
            pending = signup(
                subscription_list=lst, email="new@example.org", first_name="", meta=RequestMeta()
            )
            return pending if label.endswith("consentrequest") else Subscription.objects.get()
        case "dsr.datasubjectrequest":
            return dsr_create(kind="access", email="someone@example.org", channel="letter")[0]
        case "dsr.exportbundle":
            request = dsr_create(kind="access", email="someone@example.org", channel="letter")[0]
            return ExportBundle.objects.create(request=request, created_by=user)
        case "dsr.erasurerecord":
            return ErasureRecord.objects.create(contacts_erased=1, receipt={"deleted": {"Contact": 1}})
        case "webhooks.endpoint":
            return Endpoint.objects.create(name="CRM", url="https://crm.example.org/hooks")
        case "webhooks.delivery":
            Endpoint.objects.create(name="CRM", url="https://crm.example.org/hooks")
            consent_change(contact=ContactFactory(), level=2, source=Source.IMPORT)
            return Delivery.objects.get()
        case "contacts.deliverability":
            contact = ContactFactory()
            bounce_record(contacts=[contact], hard=True, evidence="test")
            return contact.deliverability
        case "contacts.legalhold":
            return LegalHold.objects.create(
                contact=ContactFactory(), reason="Court case", until=timezone.localdate()
            )
        case "breaches.breach":
            return _breach()
        case "breaches.breachnotice":
            from breaches.models import BreachNotice

            return BreachNotice.objects.create(
                breach=_breach(), contact=ContactFactory(), email="a@example.org"
            )
        case "mailsignals.mailsignal":
            return MailSignal.objects.create(esp="Mailgun", event_id="evt-1", kind="hard_bounce")
        case "contacts.suppressedidentity":
            suppression_add(email="erased@example.org", reason="DSR-TEST")
            return SuppressedIdentity.objects.get()
        case "staff.apikey":
            return api_key_create(user=user, name="web shop sync")[0]
        case "staff.accesslogentry":
            return AccessLogEntry.objects.create(user=user, action=AccessLogEntry.Action.VIEW)
        case "journeys.segment":
            return make_segment({"field": "country", "op": "eq", "value": "DE"})
        case "journeys.segmentexport":
            return segment_export_start(
                segment=make_segment({"field": "country", "op": "eq", "value": "DE"}), user=user
            )
        case "journeys.emailtemplate":
            return EmailTemplate.objects.create(name="Hello", subject="Hi", body="Hello {{ first_name }}")
        case "journeys.journey" | "journeys.enrolment" | "journeys.journeytask":
            contact = with_consent(ContactFactory(country="DE"), level=4)
            journey = make_journey(
                segment=make_segment({"field": "country", "op": "eq", "value": "DE"}), steps=("task",)
            )
            journeys_run()
            if label == "journeys.journey":
                return journey
            return (Enrolment if label.endswith("enrolment") else JourneyTask).objects.get(contact=contact)
        case "journeys.scoringmodel" | "journeys.score":
            model = ScoringModel.objects.create(name="Leads", min_level=4)
            ScoringRule.objects.create(
                model=model, points=5, condition={"field": "country", "op": "eq", "value": "DE"}
            )
            if label.endswith("scoringmodel"):
                return model
            contact = with_consent(ContactFactory(country="DE"), level=4)
            lead_scores_compute(model=model)
            return Score.objects.get(contact=contact)
        case "imports.importsource":
            return _import_source()
        case "imports.importrun":
            from django.core.files.base import ContentFile

            run = ImportRun(source=_import_source(), file_name="export.csv", file_sha256="0" * 64)
            run.file.save("export.csv", ContentFile(b"Consent ID,Email\n"), save=False)
            run.save()
            return run
        case "imports.rectification":
            return Rectification.objects.create(file_name="fix.xlsx", reason="fixes", file_sha256="0" * 64)
        case "auth.user":
            return user
        case "staff.staffidentity":
            from staff.models import StaffIdentity

            return StaffIdentity.objects.create(user=user, issuer="https://id.example.org", subject="s-1")
        case "auth.group":
            return Group.objects.first()
    raise AssertionError(f"no object recipe for {label}")


def _breach():
    from django.utils import timezone

    from breaches.models import Breach

    fields = ("nature", "people_categories", "data_categories", "consequences", "measures", "dpo_contact")
    return Breach.objects.create(
        summary="Laptop stolen",
        discovered_at=timezone.now(),
        people_count=1,
        records_count=1,
        **dict.fromkeys(fields, "x"),
    )


def _import_source():
    return ImportSource.objects.create(
        name="Web shop",
        key_column="Consent ID",
        email_column="Email",
        option_column="Consent option",
        value_column="Consent value",
    )


def allowed(response) -> bool:
    if response.status_code == 403:
        return False
    assert response.status_code in (200, 302), response.status_code
    assert "/login/" not in response.get("Location", "")
    return True


def test_every_admin_page_is_in_the_matrix():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(MATRIX)


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(MATRIX))
@pytest.mark.parametrize("persona", PERSONAS)
def test_each_role_gets_exactly_what_the_matrix_says(request, client_as, logging_on, label, persona):
    user = request.getfixturevalue(persona)
    client = client_as(user)
    obj = make_object(label, user)
    app, model = label.split(".")
    expected = MATRIX[label]

    def url(action, *args):
        return reverse(f"admin:{app}_{model}_{action}", args=args)

    seen = {
        "view": allowed(client.get(url("changelist"))),
        "add": allowed(client.get(url("add"))),
        # A refused change is a 403 on POST; a permitted one re-shows the form or saves.
        "change": allowed(client.post(url("change", obj.pk), {})),
        "delete": allowed(client.get(url("delete", obj.pk))),
    }
    if "export" in expected:
        seen["export"] = allowed(client.get(url("export")))
    else:
        with pytest.raises(NoReverseMatch):
            url("export")
    # A job's progress (JSON for its page's bar) follows the view permission of the job.
    if "progress" in expected:
        seen["progress"] = allowed(client.get(url("progress", obj.pk)))
    else:
        with pytest.raises(NoReverseMatch):
            url("progress", obj.pk)
    # Reading one object follows the view permission.
    assert allowed(client.get(url("change", obj.pk))) == (persona in expected["view"])
    assert seen == {action: persona in roles for action, roles in expected.items()}


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(MATRIX))
def test_anonymous_visitors_are_sent_to_the_login_page(client, label):
    app, model = label.split(".")
    response = client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- admin pages beyond the model pages: (url name, method) -> roles ----------------------------

ADMIN_ROUTES = {
    # The segment builder's live count and preview: whoever may build a segment.
    ("admin:journeys_segment_builder_preview", "POST"): {O, M},
    # Go live / pause / resume / end from the journey's own page: whoever may change journeys.
    ("admin:journeys_journey_lifecycle", "POST"): {O, M},
    # The records of processing (GDPR Art. 30) as XLSX and PDF: officers and auditors.
    ("processing-register", "GET"): {O, A},
    # A breach's people (preview: who may view; notify: officers) and its export for the authority.
    ("admin:breaches_breach_people", "GET"): {O, A},
    ("admin:breaches_breach_people", "POST"): {O},
    ("admin:breaches_breach_authority_xlsx", "GET"): {O, A},
    ("admin:breaches_breach_authority_pdf", "GET"): {O, A},
}


def _admin_route_call(name: str, user):
    rows = {"match": "all", "row-TOTAL_FORMS": "1", "row-INITIAL_FORMS": "0"}
    rows.update({"row-0-group": "1", "row-0-field": "country", "row-0-op": "eq", "row-0-value": "DE"})
    if name == "admin:journeys_journey_lifecycle":
        journey = make_journey(
            segment=make_segment({"field": "country", "op": "eq", "value": "DE"}), live=False
        )
        return reverse(name, args=[journey.pk, "go-live"]), {}
    if name == "processing-register":
        return reverse(name), {"format": "pdf"}
    if name.startswith("admin:breaches_breach_"):
        return reverse(name, args=[_breach().pk]), {"expected": "0"}
    return reverse(name), rows


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), sorted(ADMIN_ROUTES))
@pytest.mark.parametrize("persona", ["anonymous", *PERSONAS])
def test_each_role_gets_exactly_what_the_admin_routes_matrix_says(
    request, client, client_as, name, method, persona
):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    browser = client if user is None else client_as(user)
    url, data = _admin_route_call(name, user)
    response = browser.post(url, data) if method == "POST" else browser.get(url)
    if user is None:
        assert response.status_code == 302 and "/login/" in response["Location"]
    elif persona in ADMIN_ROUTES[(name, method)]:
        if name == "admin:journeys_journey_lifecycle":
            assert Journey.objects.exclude(name__in=SHIPPED_JOURNEYS).get().status == Journey.Status.LIVE
        assert response.status_code in (200, 302), response.status_code
        assert "/login/" not in response.get("Location", "")
    else:
        assert response.status_code == 403, response.status_code
        if name == "admin:journeys_journey_lifecycle":
            assert (
                Journey.objects.exclude(name__in=SHIPPED_JOURNEYS).get().status == Journey.Status.DRAFT
            )  # refused: nothing changed


# --- the API (/api/), with each persona's key ---------------------------------------------------

# A key (or a session) of staff without a role reads nothing, not even how the API is built.
API_MATRIX = {
    ("api-root", "GET"): ALL,
    ("api-schema", "GET"): ALL,
    ("api-docs", "GET"): ALL,
    ("contact-list", "GET"): ALL,
    ("contact-list", "POST"): {O, M},
    ("contact-detail", "GET"): ALL,
    ("contact-detail", "PATCH"): {O, M},
    ("contact-search", "POST"): ALL,
    ("contact-consent", "POST"): {O, M},
    ("contact-eligibility", "GET"): ALL,  # as reading the contact (and the contact page's check)
    ("consentchange-list", "GET"): ALL,
    ("consentchange-detail", "GET"): ALL,
    ("datasubjectrequest-list", "GET"): {O, A},
    ("datasubjectrequest-list", "POST"): {O},
    ("datasubjectrequest-detail", "GET"): {O, A},
    ("purpose-list", "GET"): ALL,
    ("purpose-detail", "GET"): ALL,
    ("subscriptionlist-list", "GET"): ALL,
    ("subscriptionlist-detail", "GET"): ALL,
    ("subscription-list", "GET"): ALL,
    ("subscription-detail", "GET"): ALL,
    ("subscription-subscribe", "POST"): {O, M},  # the admin's change_subscription
    ("subscription-unsubscribe", "POST"): {O, M},
    ("segment-list", "GET"): ALL,
    ("segment-detail", "GET"): ALL,
    ("segment-members", "GET"): ALL,  # as the admin's member preview
    ("delivery-list", "GET"): {O, A},  # webhooks.view_delivery
    ("delivery-detail", "GET"): {O, A},
    # The request page's decisions are the officer's; the auditor reads (dsr.admin.requests).
    **{
        (f"datasubjectrequest-{decision}", "POST"): {O}
        for decision in (
            "verify",
            "start",
            "assign",
            "extend",
            "decline",
            "complete",
            "restrict",
            "erase",
            "waive",
            "bundles",
        )
    },
    ("datasubjectrequest-bundles", "GET"): {O, A},
    ("datasubjectrequest-downstream", "GET"): {O, A},
    # Imports: officers upload; auditors follow runs and read reports (imports.admin).
    ("importsource-list", "GET"): {O, A},
    ("importsource-detail", "GET"): {O, A},
    ("importsource-upload", "POST"): {O},
    ("importrun-list", "GET"): {O, A},
    ("importrun-detail", "GET"): {O, A},
    ("importrun-report", "GET"): {O, A},
}


def test_every_api_endpoint_is_in_the_matrix():
    from config.api import router, urlpatterns

    routes = {
        (url.name, method.upper())
        for url in router.urls
        for method in (getattr(url.callback, "actions", None) or {"get": "root"})
        if method != "head"  # HEAD is answered as GET, under the same permission
    }
    routes |= {(url.name, "GET") for url in urlpatterns if getattr(url, "name", None)}  # schema, docs
    assert routes == set(API_MATRIX)


def _api_call(name: str, method: str):
    """The request for one endpoint, with data that the endpoint accepts."""
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile

    from dsr.services import dsr_verify

    contact = with_consent(ContactFactory(email="holly@contoso.com"), level=3)
    if name.split("-")[0] in ("purpose", "subscriptionlist", "subscription", "segment", "delivery"):
        PurposeFactory(slug="newsletter")
        news = SubscriptionList.objects.create(name="News", slug="news")
        subscription_set(contact=contact, subscription_list=news, status="subscribed", source=Source.IMPORT)
        Endpoint.objects.create(name="CRM", url="https://crm.example.org/hooks")
        consent_change(contact=contact, level=2, source=Source.IMPORT)
    # Built on demand: each test makes only its own endpoint's objects.
    args = {
        "contact-detail": lambda: [contact.pk],
        "contact-consent": lambda: [contact.pk],
        "contact-eligibility": lambda: [contact.pk],
        "consentchange-detail": lambda: [ConsentChange.objects.filter(contact=contact).latest("id").pk],
        "purpose-detail": lambda: ["newsletter"],
        "subscriptionlist-detail": lambda: ["news"],
        "subscription-detail": lambda: [Subscription.objects.get(contact=contact).pk],
        "segment-detail": lambda: [make_segment().pk],
        "segment-members": lambda: [make_segment().pk],
        "delivery-detail": lambda: [Delivery.objects.values_list("pk", flat=True).first()],
        "datasubjectrequest-detail": lambda: [
            dsr_create(kind="access", email="holly@contoso.com", channel="letter")[0].reference
        ],
    }.get(name, list)()
    data = {
        "contact-list": {"first_name": "Molly", "email": "molly@contoso.com"},
        "contact-detail": {"last_name": "Hansen", "justification": "rectification asked on the phone"},
        "contact-consent": {"level": 4, "justification": "asked on the phone"},
        "contact-search": {"email": "holly@contoso.com"},
        "subscription-subscribe": {"contact": contact.pk, "list": "news"},
        "subscription-unsubscribe": {"contact": contact.pk, "list": "news"},
        "datasubjectrequest-list": {"kind": "access", "requester_email": "someone@example.org"},
    }.get(name)
    if name.startswith("datasubjectrequest-") and name not in (
        "datasubjectrequest-list",
        "datasubjectrequest-detail",
    ):
        # A request in the state the action needs: verified (the export bundle, completion and
        # erasure refuse an unverified requester), of the kind it needs.
        kind = {"erase": "erase", "restrict": "restrict"}.get(name.rpartition("-")[2], "access")
        dsr = dsr_create(kind=kind, email="holly@contoso.com", channel="letter")[0]
        if not name.endswith("-verify"):
            dsr_verify(request=dsr, actor=None, how="seen in person")
        args = [dsr.reference]
        data = {
            "datasubjectrequest-verify": {"how": "seen in person"},
            "datasubjectrequest-extend": {
                "until": (dsr.due_at + dt.timedelta(days=30)).isoformat(),
                "reason": "three archives to search",
            },
            "datasubjectrequest-decline": {"reason": "manifestly unfounded"},
            "datasubjectrequest-erase": {"expected_status": "verified"},
            "datasubjectrequest-waive": {
                "endpoint": Endpoint.objects.create(name="CRM", url="https://crm.example.org/hooks").pk,
                "reason": "holds no copy",
            },
        }.get(name, {})
    if name.startswith(("importsource-", "importrun-")):
        source = ImportSource.objects.create(
            name="Web shop",
            key_column="ID",
            email_column="Email",
            option_column="Option",
            value_column="Value",
        )
        run = ImportRun.objects.create(source=source, file_name="shop.csv", file_sha256="0" * 64)
        args = {
            "importsource-detail": [source.pk],
            "importsource-upload": [source.pk],
            "importrun-detail": [run.pk],
            "importrun-report": [run.pk],
        }.get(name, [])
        if name == "importsource-upload":
            data = {
                "file": SimpleUploadedFile("shop.csv", b"ID,Email,Option,Value\r\n1,a@b.org,news,yes\r\n")
            }
    return method, reverse(name, args=args), data


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), sorted(API_MATRIX))
@pytest.mark.parametrize("persona", ["anonymous", *PERSONAS])
def test_each_role_gets_exactly_what_the_api_matrix_says(request, logging_on, name, method, persona):
    if persona == "anonymous":
        client = Client()
    else:
        _key, text = api_key_create(user=request.getfixturevalue(persona), name="matrix")
        client = Client(HTTP_AUTHORIZATION=f"Token {text}")
    method, url, data = _api_call(name, method)
    if method == "POST" and name == "importsource-upload":
        response = client.post(url, data)  # a file: multipart
    elif method in ("POST", "PATCH"):
        response = getattr(client, method.lower())(url, data, content_type="application/json")
    else:
        response = client.get(url)
    if persona in API_MATRIX[(name, method)]:
        assert response.status_code in (200, 201), (response.status_code, response.content[:300])
    else:
        # Anonymous: 401 (the key scheme asks for credentials); a role without the permission: 403.
        assert response.status_code == (401 if persona == "anonymous" else 403), response.status_code


# --- what each role may see inside a page it may open -------------------------------------------

SEES_SENSITIVE = {O, A}  # child, guardian, date of birth, restriction: to see, filter or search by
SEES_RESTRICTED = {O}  # restricted contacts (GDPR Art. 18) at all, marked as restricted
HIDDEN_FILTERS = [
    "is_child__exact=1",
    "processing_restricted__exact=1",
    "guardian__isnull=True",
    "date_of_birth__gte=2000-01-01",
]


@pytest.mark.django_db
@pytest.mark.parametrize("query", HIDDEN_FILTERS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_filters_on_hidden_fields_follow_the_matrix(request, client_as, persona, query):
    client = client_as(request.getfixturevalue(persona))
    response = client.get(f"{reverse('admin:contacts_contact_changelist')}?{query}")
    expected = 200 if persona in SEES_SENSITIVE else (400 if persona in ALL else 403)
    assert response.status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_restricted_contacts_and_hidden_records_follow_the_matrix(request, client_as, logging_on, persona):
    import datetime as dt

    from consent.services import children_come_of_age
    from contacts.services import contact_update

    user = request.getfixturevalue(persona)
    restricted = with_consent(ContactFactory(email="kept@example.org"), level=2)
    contact_update(contact=restricted, processing_restricted=True, reason="DSR restriction")
    guardian = ContactFactory()
    ContactFactory(is_child=True, guardian=guardian, date_of_birth=dt.date(2000, 1, 1))
    children_come_of_age()  # writes an is_child record
    _key, text = api_key_create(user=user, name="matrix")
    api = Client(HTTP_AUTHORIZATION=f"Token {text}")

    contacts = api.get("/api/v1/contacts/")
    records = api.get("/api/v1/consent-changes/?field=is_child")
    if persona not in ALL:
        assert (contacts.status_code, records.status_code) == (403, 403)
        return
    listed = {c["id"] for c in contacts.json()["results"]}
    assert (restricted.pk in listed) == (persona in SEES_RESTRICTED)
    admin_list = client_as(user).get(reverse("admin:contacts_contact_changelist")).context["cl"].result_list
    assert (restricted in admin_list) == (persona in SEES_RESTRICTED)
    assert bool(records.json()["results"]) == (persona in SEES_SENSITIVE)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "label", ["subscriptions.subscription", "journeys.enrolment", "journeys.journeytask", "journeys.score"]
)
@pytest.mark.parametrize("persona", [O, M, A])
def test_rows_about_a_restricted_contact_follow_the_matrix(request, client_as, label, persona):
    from contacts.services import contact_update

    user = request.getfixturevalue(persona)
    obj = make_object(label, user)
    app, model = label.split(".")
    url = reverse(f"admin:{app}_{model}_changelist")
    assert obj in client_as(user).get(url).context["cl"].result_list
    contact_update(contact=obj.contact, processing_restricted=True, reason="DSR restriction")
    shown = obj in client_as(user).get(url).context["cl"].result_list
    assert shown == (persona in SEES_RESTRICTED)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_eligibility_page_follows_the_matrix(request, client_as, persona):
    """ "Why is this contact (not) eligible?" (admin:contacts_contact_eligibility): every role that
    reads contacts; a restricted contact only for who sees restricted contacts; the words of the
    sensitive rules (a child) only for who sees sensitive fields."""
    from contacts.services import contact_update

    user = request.getfixturevalue(persona)
    client = client_as(user)
    child = with_consent(ContactFactory(is_child=True, guardian=ContactFactory()), level=4)
    url = reverse("admin:contacts_contact_eligibility", args=[child.pk]) + "?min_level=5"
    response = client.get(url)
    if persona not in ALL:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert ("A child: never profiled" in response.content.decode()) == (persona in SEES_SENSITIVE)
    restricted = with_consent(ContactFactory(), level=2)
    contact_update(
        contact=restricted, processing_restricted=True, reason="restriction requested (DSR-0A0A0A0A)"
    )
    response = client.get(
        reverse("admin:contacts_contact_eligibility", args=[restricted.pk]) + "?min_level=0"
    )
    shown = response.status_code == 200 and "DSR-0A0A0A0A" in response.content.decode()
    assert shown == (persona in SEES_RESTRICTED)
    if persona not in SEES_RESTRICTED:
        assert response.status_code == 302  # as the change page: "does not exist", nothing told


HELD_AND_SENDS = {O, A}  # what was held on a past date, and the sends' consent: who answers for consent


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_consent_held_page_and_the_send_export_follow_the_matrix(request, client_as, persona):
    """ "What did we hold on a given date?" (admin:contacts_contact_held) and the compliance export
    of sends with their consent (consent-send-export): officers and auditors, not the marketer."""
    import datetime as dt

    from django.utils import timezone

    client = client_as(request.getfixturevalue(persona))
    contact = with_consent(ContactFactory(), level=2)
    past = timezone.localdate() - dt.timedelta(days=30)
    held = client.get(reverse("admin:contacts_contact_held", args=[contact.pk]), {"date": past})
    assert held.status_code == (200 if persona in HELD_AND_SENDS else 403)
    export = client.get(reverse("consent-send-export"), {"start": past, "end": past})
    assert export.status_code == (200 if persona in HELD_AND_SENDS else 403)


# --- the second-factor pages (staff.second_factor_views), beside the model admins ------------------

STAFF = {O, M, A, "outsider"}  # every member of staff, role or not, looks after their own sign-in
SECOND_FACTOR_PAGES = {
    ("second-factor-verify", "GET"): STAFF,  # nothing owed: straight on to the admin
    ("second-factor-enrol", "GET"): STAFF,
    ("second-factor-staff", "GET"): {O},
    ("second-factor-reset", "POST"): {O},
}
# django-otp-webauthn's JSON endpoints, below /admin/second-factor/passkeys/: every member of staff
# registers passkeys of their own; nobody signs in with a passkey alone (passwordless is off).
PASSKEY_ENDPOINTS = {
    "otp_webauthn:credential-registration-begin": STAFF,
    "otp_webauthn:credential-authentication-begin": STAFF,
}


def test_every_second_factor_page_is_in_the_matrix():
    from config.urls import urlpatterns

    names = {p.name for p in urlpatterns if getattr(p, "name", "") and p.name.startswith("second-factor")}
    assert names == {name for name, _method in SECOND_FACTOR_PAGES}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), sorted(SECOND_FACTOR_PAGES))
@pytest.mark.parametrize("persona", ["anonymous", *PERSONAS])
def test_second_factor_pages_follow_the_matrix(request, client_as, name, method, persona):
    from tests.factories import UserFactory

    member = UserFactory(username="someone")
    url = reverse(name, args=[member.pk] if name == "second-factor-reset" else [])
    if persona == "anonymous":
        response = Client().generic(method, url)
        assert response.status_code == 302 and "/login/" in response["Location"]
        return
    response = client_as(request.getfixturevalue(persona)).generic(method, url)
    assert allowed(response) == (persona in SECOND_FACTOR_PAGES[(name, method)])


def test_every_passkey_endpoint_is_below_the_admin_and_in_the_matrix():
    from django_otp_webauthn.urls import urlpatterns

    names = {f"otp_webauthn:{p.name}" for p in urlpatterns if "begin" in p.name}
    assert names == set(PASSKEY_ENDPOINTS)
    assert all(reverse(name).startswith("/admin/second-factor/passkeys/") for name in names)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(PASSKEY_ENDPOINTS))
@pytest.mark.parametrize("persona", ["anonymous", *PERSONAS])
def test_passkey_endpoints_follow_the_matrix(request, client_as, name, persona):
    client = Client() if persona == "anonymous" else client_as(request.getfixturevalue(persona))
    response = client.post(reverse(name), content_type="application/json")
    if persona in PASSKEY_ENDPOINTS[name]:
        assert response.status_code == 200, response.content[:300]
    else:
        assert response.status_code in (401, 403), response.status_code
