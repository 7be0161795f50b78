"""The REST API as other systems use it, for each role: reads, consent changes through the
consent service, data subject requests, the access log, keys, throttling and pagination."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from consent.audit_chain import verify
from consent.models import ConsentChange, Purpose, Source
from consent.services import consent_change
from dsr.models import DataSubjectRequest
from staff.api_auth import api_key_create, api_key_revoke
from staff.models import AccessedContact, AccessLogEntry
from tests.factories import ContactFactory, with_consent
from tests.tamper import tamper

pytestmark = pytest.mark.django_db

PERSONAS = ["privacy_officer", "marketer", "auditor", "outsider"]


@pytest.fixture
def newsletter(db):
    return Purpose.objects.create(name="Newsletter", slug="newsletter")


@pytest.fixture
def holly(newsletter):
    guardian = ContactFactory(email="holly@contoso.com", phone="+49 30 1234567")
    return with_consent(guardian, level=3, purposes={"newsletter": True}, tracking_allowed=True)


def test_requests_without_a_valid_key_are_refused(holly):
    assert Client().get("/api/v1/contacts/").status_code in (401, 403)
    bad = Client(HTTP_AUTHORIZATION="Token abc.def")
    assert bad.get("/api/v1/contacts/").status_code == 401


def test_a_revoked_key_stops_working(holly, privacy_officer):
    key, text = api_key_create(user=privacy_officer, name="shop")
    client = Client(HTTP_AUTHORIZATION=f"Token {text}")
    assert client.get("/api/v1/contacts/").status_code == 200
    api_key_revoke(prefix=key.prefix)
    assert client.get("/api/v1/contacts/").status_code == 401
    assert text.split(".")[1] not in key.key_hash  # only a hash is stored


@pytest.mark.parametrize(
    ("persona", "status"), [("privacy_officer", 200), ("marketer", 200), ("auditor", 200), ("outsider", 403)]
)
def test_reading_a_contact_with_its_consent_by_role(request, api_as, holly, persona, status):
    user = request.getfixturevalue(persona)
    response = api_as(user).get(f"/api/v1/contacts/{holly.pk}/")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert (body["email"], body["phone"], body["consent_given"], body["tracking_allowed"]) == (
            "holly@contoso.com",
            "+49301234567",
            3,
            True,
        )
        assert [(p["purpose"], p["granted"], p["source"]) for p in body["purposes"]] == [
            ("newsletter", True, "import")
        ]


def test_a_contacts_language_is_read_through_the_api(api_as, marketer):
    lena = ContactFactory(email="lena@example.de", language="de")
    assert api_as(marketer).get(f"/api/v1/contacts/{lena.pk}/").json()["language"] == "de"


def test_a_marketer_cannot_read_sensitive_fields(api_as, holly, marketer, privacy_officer):
    child = ContactFactory(email="kid@contoso.com", is_child=True, guardian=holly)
    assert api_as(marketer).get(f"/api/v1/contacts/{child.pk}/").json()["sensitive"] is None
    assert api_as(privacy_officer).get(f"/api/v1/contacts/{child.pk}/").json()["sensitive"] == {
        "is_child": True,
        "guardian": holly.pk,
        "date_of_birth": None,
        "processing_restricted": False,
    }


def test_every_read_of_contacts_is_in_the_access_log(api_as, holly, marketer):
    other = ContactFactory(email="other@contoso.com")
    client = api_as(marketer)
    client.get("/api/v1/contacts/", REMOTE_ADDR="198.51.100.7")
    client.get(f"/api/v1/contacts/{holly.pk}/")

    entries = AccessLogEntry.objects.filter(user=marketer, action="api_read").order_by("id")
    assert [e.contact_count for e in entries] == [2, 1]
    assert entries[0].ip == "198.51.100.7" and entries[0].path == "/api/v1/contacts/"
    assert set(AccessedContact.objects.filter(entry=entries[0]).values_list("contact_id", flat=True)) == {
        holly.pk,
        other.pk,
    }


def test_contacts_are_found_by_address_in_any_notation_sent_in_the_body(api_as, holly, auditor):
    ContactFactory(email="other@contoso.com")
    client = api_as(auditor)

    def search(**body):
        response = client.post("/api/v1/contacts/search/", body, content_type="application/json")
        assert response.status_code == 200, response.content
        return [c["id"] for c in response.json()["results"]]

    assert search(email="HOLLY@contoso.com") == [holly.pk]
    assert search(phone="030 1234567") == [holly.pk]
    assert search(email="holly@contoso.com", phone="+49 30 999999") == []
    # Every search is a read of the contacts found, in the access log, whose path names nobody.
    entry = AccessLogEntry.objects.filter(user=auditor, action="api_read").latest("id")
    assert entry.path == "/api/v1/contacts/search/" and entry.contact_count == 0
    assert search(email="not an address") == []
    assert client.get("/api/v1/contacts/?min_level=4").json()["results"] == []
    assert search() == [] and search(email=" ", phone="") == []  # nobody, not everybody
    too_long = client.post("/api/v1/contacts/search/", {"phone": "1" * 65}, content_type="application/json")
    assert too_long.status_code == 400 and "64 characters" in too_long.json()["detail"]


def test_no_address_or_number_is_taken_from_a_url(api_as, holly, auditor):
    """Personal data in a query string lands in every access log on its way: refused, and
    never silently ignored (that would answer with every contact)."""
    client = api_as(auditor)
    for query in ("email=holly%40contoso.com", "phone=%2B49301234567"):
        response = client.get(f"/api/v1/contacts/?{query}")
        assert response.status_code == 400 and "/api/v1/contacts/search/" in response.json()["detail"]
    schema = client.get("/api/schema/?format=json").json()
    parameters = schema["paths"]["/api/v1/contacts/"]["get"]["parameters"]
    assert not {"email", "phone"} & {p["name"] for p in parameters}


def test_pages_follow_a_cursor_and_never_count(api_as, privacy_officer):
    created = [ContactFactory().pk for _ in range(7)]
    client = api_as(privacy_officer)
    seen, url = [], "/api/v1/contacts/?page_size=3"
    while url:
        body = client.get(url).json()
        assert "count" not in body
        seen += [c["id"] for c in body["results"]]
        url = body["next"]
    assert seen == sorted(created, reverse=True)


@pytest.mark.parametrize(
    ("persona", "status"), [("privacy_officer", 200), ("marketer", 200), ("auditor", 403), ("outsider", 403)]
)
def test_changing_consent_by_role(request, api_as, holly, logging_on, persona, status):
    user = request.getfixturevalue(persona)
    response = api_as(user, name="web shop").post(
        f"/api/v1/contacts/{holly.pk}/consent/",
        {
            "level": 4,
            "purposes": {"newsletter": False},
            "evidence": {"form": "checkout v7"},
            "justification": "checkout form",
        },
        content_type="application/json",
        HTTP_USER_AGENT="shop-sync/1.0",
    )
    assert response.status_code == status
    holly.refresh_from_db()
    if status != 200:
        assert holly.consent_given == 3
        return
    body = response.json()
    assert body["contact"]["consent_given"] == 4
    assert [(c["field"], c["old_value"], c["new_value"], c["source"]) for c in body["changes"]] == [
        ("consent_given", "3", "4", "api"),
        ("purpose", "True", "False", "api"),
    ]
    record = ConsentChange.objects.filter(contact=holly, source=Source.API).latest("id")
    assert record.actor == user and record.channel == "api:web shop"
    assert record.evidence["client"] == {"form": "checkout v7"}
    assert record.evidence["user_agent"] == "shop-sync/1.0"


def test_a_marketers_consent_change_needs_a_justification_as_in_the_admin(
    api_as, holly, marketer, privacy_officer, logging_on
):
    """The rule lives in the consent service, so no door skips it: a Marketer's key is a person
    changing consent by hand. An officer's key relays a person's own answers (web shop)."""
    url = f"/api/v1/contacts/{holly.pk}/consent/"
    client = api_as(marketer)
    for reason in ("", "   "):
        response = client.post(url, {"level": 5, "justification": reason}, content_type="application/json")
        assert response.status_code == 409  # well formed, refused by the service
        assert "Say why you change this consent" in response.json()["errors"]["justification"][0]
    holly.refresh_from_db()
    assert holly.consent_given == 3 and not ConsentChange.objects.filter(source=Source.API).exists()

    response = client.post(
        url, {"level": 5, "justification": "asked at the fair"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert ConsentChange.objects.get(source=Source.API).justification == "asked at the fair"
    relayed = api_as(privacy_officer).post(url, {"level": 4}, content_type="application/json")
    assert relayed.status_code == 200


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"level": 5}, "A child can never be given Profiling consent (GDPR Art. 8)."),
        ({"purposes": {"horoscope": True}}, "Unknown purpose: horoscope."),
    ],
)
def test_the_consent_services_refusal_is_a_409_with_its_message(
    api_as, holly, privacy_officer, payload, message
):
    # 409: the request is well formed (the schema cannot know the contact is a child, or which
    # purposes exist); a 400 is for requests the schema itself rules out.
    child = ContactFactory(email="kid@contoso.com", is_child=True, guardian=holly)
    response = api_as(privacy_officer).post(
        f"/api/v1/contacts/{child.pk}/consent/", payload, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["detail"] == message
    child.refresh_from_db()
    assert child.consent_given == 0 and not ConsentChange.objects.filter(contact=child).exists()


def test_a_retired_purpose_cannot_be_granted_by_api(api_as, holly, privacy_officer):
    Purpose.objects.create(name="Old", slug="old", active=False)
    response = api_as(privacy_officer).post(
        f"/api/v1/contacts/{holly.pk}/consent/", {"purposes": {"old": True}}, content_type="application/json"
    )
    assert response.status_code == 409 and response.json()["detail"] == "The purpose “Old” is retired."


@pytest.mark.parametrize(
    ("persona", "status"), [("privacy_officer", 200), ("marketer", 200), ("auditor", 200), ("outsider", 403)]
)
def test_listing_consent_change_records_by_role(request, api_as, holly, logging_on, persona, status):
    with_consent(holly, level=4)
    response = api_as(request.getfixturevalue(persona)).get(f"/api/v1/consent-changes/?contact={holly.pk}")
    assert response.status_code == status
    if status == 200:
        assert [(r["field"], r["new_value"]) for r in response.json()["results"]] == [("consent_given", "4")]


@pytest.mark.parametrize(
    ("persona", "read", "create"),
    [("privacy_officer", 200, 201), ("auditor", 200, 403), ("marketer", 403, 403), ("outsider", 403, 403)],
)
def test_data_subject_requests_by_role(request, api_as, holly, persona, read, create):
    client = api_as(request.getfixturevalue(persona))
    response = client.post(
        "/api/v1/requests/",
        {"kind": "access", "requester_email": "Holly@Contoso.com", "details": "What do you hold?"},
        content_type="application/json",
    )
    assert response.status_code == create
    if create == 201:
        made = DataSubjectRequest.objects.get()
        assert (made.channel, made.requester_email, list(made.contacts.all())) == (
            "api",
            "holly@contoso.com",
            [holly],
        )
        assert response.json()["reference"] == made.reference
        again = client.post(
            "/api/v1/requests/",
            {"kind": "access", "requester_email": "holly@contoso.com"},
            content_type="application/json",
        )
        assert again.status_code == 200 and again.json()["reference"] == made.reference
    else:
        assert not DataSubjectRequest.objects.exists()
    assert client.get("/api/v1/requests/").status_code == read


def test_requests_beyond_the_rate_limit_are_throttled(api_as, privacy_officer, settings):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"}
    try:
        client = api_as(privacy_officer)
        codes = [client.get("/api/v1/consent-changes/").status_code for _ in range(4)]
    finally:
        UserRateThrottle.THROTTLE_RATES = original
    assert codes == [200, 200, 200, 429]


def test_the_schema_and_docs_are_served_to_staff(client_as, marketer):
    client = client_as(marketer)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/contacts/{id}/consent/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert Client().get("/api/schema/").status_code in (401, 403)


def test_a_key_of_staff_without_a_role_reads_nothing_not_even_the_schema(api_as, client_as, outsider, holly):
    """A role is what grants reading; an account without one (a leaver whose role was removed,
    a new hire not yet assigned) learns neither the data nor how the API is built."""
    outsider.user_permissions.add(*Permission.objects.filter(codename="view_contact"))  # a stray grant
    for client in (api_as(outsider), client_as(outsider)):
        for path in (
            "/api/v1/",
            "/api/schema/",
            "/api/docs/",
            "/api/v1/contacts/",
            f"/api/v1/contacts/{holly.pk}/",
        ):
            assert client.get(path).status_code == 403, path
        search = client.post(
            "/api/v1/contacts/search/", {"email": "holly@contoso.com"}, content_type="application/json"
        )
        assert search.status_code == 403


def test_the_browsable_api_works_with_the_admin_session(client_as, privacy_officer, holly):
    response = client_as(privacy_officer).get(f"/api/v1/contacts/{holly.pk}/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"holly@contoso.com" in response.content


def test_filters_take_yes_no_and_unknown_ids_find_nothing(api_as, holly, auditor):
    """Found by schemathesis: the model's yes/no choices refused "false", an unknown contact id was a 400."""
    client = api_as(auditor)
    assert client.get("/api/v1/contacts/?tracking_allowed=false").json()["results"] == []
    assert [c["id"] for c in client.get("/api/v1/contacts/?tracking_allowed=true").json()["results"]] == [
        holly.pk
    ]
    response = client.get("/api/v1/consent-changes/?contact=999999")
    assert response.status_code == 200 and response.json()["results"] == []


def test_any_time_zone_offset_in_a_date_filter_is_answered(api_as, auditor):
    """Found by schemathesis on PostgreSQL, which refuses offsets beyond 15:59: was a 500."""
    client = api_as(auditor)
    response = client.get("/api/v1/consent-changes/?recorded_after=2026-05-17T16:20:12-16:45")
    assert response.status_code == 200 and response.json()["results"] == []
    assert client.get("/api/v1/consent-changes/?recorded_after=9999-12-31T23:00:00-16:45").status_code == 400


@pytest.fixture
def came_of_age(holly, logging_on):
    """A former child: the record of their is_child change tells who was a child."""
    import datetime as dt

    from consent.services import children_come_of_age

    grown = ContactFactory(
        email="teen@contoso.com", is_child=True, guardian=holly, date_of_birth=dt.date(2000, 1, 1)
    )
    children_come_of_age()
    return grown


def test_a_marketer_reads_no_change_record_of_a_hidden_field(api_as, came_of_age, marketer, auditor):
    record = ConsentChange.objects.get(field="is_child")
    client = api_as(marketer)
    assert client.get("/api/v1/consent-changes/?field=is_child").json()["results"] == []
    assert record.pk not in {r["id"] for r in client.get("/api/v1/consent-changes/").json()["results"]}
    assert client.get(f"/api/v1/consent-changes/{record.pk}/").status_code == 404
    seen = api_as(auditor).get("/api/v1/consent-changes/?field=is_child").json()["results"]
    assert [r["id"] for r in seen] == [record.pk]


def test_restricted_contacts_are_in_no_api_list_but_the_officers(
    api_as, holly, marketer, auditor, privacy_officer, logging_on
):
    """GDPR Art. 18: a restricted contact is kept, not processed; lists feed processing."""
    from contacts.services import contact_update

    restricted = ContactFactory(email="kept@contoso.com")
    with_consent(restricted, level=2)
    contact_update(contact=restricted, processing_restricted=True, reason="DSR restriction")
    for user in (marketer, auditor):
        client = api_as(user)
        assert restricted.pk not in {c["id"] for c in client.get("/api/v1/contacts/").json()["results"]}
        assert client.get(f"/api/v1/contacts/{restricted.pk}/").status_code == 404
        found = client.post(
            "/api/v1/contacts/search/", {"email": "kept@contoso.com"}, content_type="application/json"
        )
        assert found.json()["results"] == []
    # Nor the consent records that would name them, for a Marketer.
    records = api_as(marketer).get(f"/api/v1/consent-changes/?contact={restricted.pk}").json()["results"]
    assert records == []
    assert api_as(auditor).get(f"/api/v1/consent-changes/?contact={restricted.pk}").json()["results"] != []

    officer = api_as(privacy_officer)
    listed = {c["id"]: c for c in officer.get("/api/v1/contacts/").json()["results"]}
    assert listed[restricted.pk]["sensitive"]["processing_restricted"] is True  # marked as restricted


def test_evidence_with_a_large_float_verifies_and_later_tampering_is_still_found(
    api_as, privacy_officer, logging_on
):
    contact = ContactFactory()
    response = api_as(privacy_officer).post(
        f"/api/v1/contacts/{contact.pk}/consent/",
        '{"level": 2, "evidence": {"form_version": 1e16}}',
        content_type="application/json",
    )
    assert response.status_code == 200
    consent_change(contact=contact, level=3, source=Source.IMPORT)
    assert verify().ok, verify().summary()
    later = ConsentChange.objects.latest("id")
    tamper("UPDATE consent_consentchange SET new_value = '5' WHERE id = %s", [later.id])
    result = verify()
    assert [pk for pk, _problem in result.bad] == [later.id]
