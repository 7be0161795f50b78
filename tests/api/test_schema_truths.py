"""What schemathesis found, pinned: each answer below once broke the schema's promise (an
undocumented status, a shape or type the schema denies, an HTML page, a server error) or accepted
input the schema rules out. test_schema.py explores; these keep each finding fixed."""

import base64

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator

from consent.models import ConsentChange, Purpose
from dsr.models import DataSubjectRequest
from staff.api_base import ID_MAX
from tests.factories import ContactFactory, with_consent

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(public=True))
schema.app = __import__("config.wsgi", fromlist=["application"]).application

# The checks on one answer: documented status, body shape, content type, headers.
CONFORMANCE = [
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
]


@pytest.fixture
def holly(logging_on):
    Purpose.objects.create(name="Newsletter", slug="newsletter")
    return with_consent(ContactFactory(email="holly@contoso.com"), level=2, purposes={"newsletter": True})


@pytest.fixture
def key_of(keep_connection):
    from staff.api_auth import api_key_create

    return lambda user: api_key_create(user=user, name="truths")[1]


def answer(path: str, method: str, *, key: str | None, headers=None, **case_kwargs):
    """Send one request through the WSGI app and check the answer against the schema."""
    case = schema[path][method].Case(**case_kwargs)
    headers = {**({"Authorization": f"Token {key}"} if key else {}), **(headers or {})}
    return case.call_and_validate(headers=headers, checks=CONFORMANCE)


# --- nullable fields ----------------------------------------------------------------------------


def test_a_change_record_without_actor_or_purpose_is_answered_as_the_schema_says(
    holly, privacy_officer, key_of
):
    record = ConsentChange.objects.filter(contact=holly, purpose=None).latest("id")
    assert record.actor is None  # written by an import: no staff user
    response = answer(
        "/api/v1/consent-changes/{id}/", "GET", key=key_of(privacy_officer), path_parameters={"id": record.pk}
    )
    assert response.json()["actor"] is None and response.json()["purpose"] is None


def test_the_schema_types_the_change_records_optional_links_nullable():
    record = SchemaGenerator().get_schema(public=True)["components"]["schemas"]["ConsentChange"]
    assert all(record["properties"][name].get("nullable") for name in ("actor", "purpose", "contact"))


# --- every refusal is documented, in the shape DRF writes -----------------------------------------


@pytest.mark.parametrize(
    ("persona", "path", "method", "kwargs", "status"),
    [
        (None, "/api/v1/contacts/", "GET", {}, 401),  # with WWW-Authenticate
        ("outsider", "/api/v1/contacts/", "GET", {}, 403),
        (
            "marketer",
            "/api/v1/requests/",
            "POST",
            {"body": {"kind": "access", "requester_email": "a@b.org"}},
            403,
        ),
        ("privacy_officer", "/api/v1/contacts/{id}/", "GET", {"path_parameters": {"id": ID_MAX}}, 404),
        (
            "privacy_officer",
            "/api/v1/requests/{reference}/",
            "GET",
            {"path_parameters": {"reference": "DSR-0"}},
            404,
        ),
        ("privacy_officer", "/api/v1/contacts/", "GET", {"query": {"min_level": 9}}, 400),
        ("privacy_officer", "/api/v1/contacts/", "GET", {"query": {"cursor": "nonsense"}}, 404),
        ("privacy_officer", "/api/v1/contacts/", "GET", {"headers": {"Accept": "application/xml"}}, 406),
        (
            "privacy_officer",
            "/api/v1/requests/",
            "POST",
            {"body": {"kind": "access", "requester_email": "x"}},
            400,
        ),
        ("privacy_officer", "/api/v1/requests/", "POST", {"body": [], "media_type": "application/json"}, 400),
    ],
)
def test_each_refusal_is_answered_as_the_schema_says(
    request, holly, key_of, persona, path, method, kwargs, status
):
    key = key_of(request.getfixturevalue(persona)) if persona else None
    kwargs = dict(kwargs)
    extra = kwargs.pop("headers", None)
    response = answer(path, method, key=key, headers=extra, **kwargs)
    assert response.status_code == status


def test_consent_refused_by_the_service_is_a_documented_409(holly, privacy_officer, key_of):
    response = answer(
        "/api/v1/contacts/{id}/consent/",
        "POST",
        key=key_of(privacy_officer),
        path_parameters={"id": holly.pk},
        body={"purposes": {"horoscope": True}},
    )
    assert response.status_code == 409 and response.json()["detail"] == "Unknown purpose: horoscope."


def test_a_throttled_request_is_a_documented_429_saying_when_to_retry(holly, privacy_officer, key_of):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    key = key_of(privacy_officer)
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "1/min"}
    try:
        answer("/api/v1/contacts/", "GET", key=key)
        response = answer("/api/v1/contacts/", "GET", key=key)
    finally:
        UserRateThrottle.THROTTLE_RATES = original
    assert response.status_code == 429 and int(response.headers["retry-after"][0]) > 0


def test_a_url_below_the_api_that_nothing_answers_is_a_json_404(client):
    # The router's ids take no dot: "0.5" matched no route, and Django's HTML page came back.
    response = client.post("/api/v1/contacts/0.5/consent/", {}, content_type="application/json")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
    assert "text/html" in client.get("/no-such-page/")["Content-Type"]  # pages keep their HTML 404


# --- numbers within their bounds ----------------------------------------------------------------


@pytest.mark.parametrize("level", [6, 9, -1, 2**70])
def test_a_level_outside_0_to_5_is_refused_naming_the_field(api_as, holly, privacy_officer, level):
    response = api_as(privacy_officer).post(
        f"/api/v1/contacts/{holly.pk}/consent/", {"level": level}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json() == {"level": ["Consent levels run from 0 to 5."]}
    holly.refresh_from_db()
    assert holly.consent_given == 2


@pytest.mark.parametrize("page_size", ["0", "501", "abc", "-1", "1e3", "9" * 5000])
def test_a_page_size_outside_1_to_500_is_refused(api_as, holly, privacy_officer, page_size):
    # DRF fell back to 100 for a size it could not use, answering something else than asked.
    response = api_as(privacy_officer).get("/api/v1/contacts/", {"page_size": page_size})
    assert response.status_code == 400
    assert response.json() == {"page_size": ["A whole number from 1 to 500."]}


def test_a_page_size_within_bounds_is_used(api_as, holly, privacy_officer):
    ContactFactory()
    response = api_as(privacy_officer).get("/api/v1/contacts/", {"page_size": "1"})
    assert response.status_code == 200 and len(response.json()["results"]) == 1


@pytest.mark.parametrize("position", ["abc", "1e400", "\x00", str(2**64)])
@pytest.mark.parametrize("path", ["/api/v1/contacts/", "/api/v1/consent-changes/", "/api/v1/requests/"])
def test_a_forged_cursor_is_a_404_not_a_server_error(api_as, holly, privacy_officer, path, position):
    # A cursor is base64 of "p=<last id seen>"; a position that is not an id reached the database.
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    response = api_as(privacy_officer).get(path, {"cursor": cursor})
    assert response.status_code == 404 and response.json() == {"detail": "Invalid cursor"}


def test_the_schema_bounds_ids_in_paths_and_the_page_size():
    paths = SchemaGenerator().get_schema(public=True)["paths"]
    (contact_id,) = paths["/api/v1/contacts/{id}/"]["get"]["parameters"]
    assert contact_id["schema"] == {"type": "integer", "minimum": 1, "maximum": ID_MAX}
    page_size = next(p for p in paths["/api/v1/contacts/"]["get"]["parameters"] if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}


# --- filters and bodies take the types the schema states ------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/v1/consent-changes/", {"recorded_before": ""}, "recorded_before"),
        ("/api/v1/consent-changes/", {"contact": ""}, "contact"),
        ("/api/v1/contacts/", {"tracking_allowed": "null"}, "tracking_allowed"),
        ("/api/v1/contacts/", {"tracking_allowed": "yes"}, "tracking_allowed"),
        ("/api/v1/requests/", {"status": ""}, "status"),
    ],
)
def test_a_filter_sent_blank_or_unreadable_is_refused_not_ignored(
    api_as, holly, privacy_officer, path, query, field
):
    # django-filter skipped such a filter and answered unfiltered: all records for a typo.
    response = api_as(privacy_officer).get(path, query)
    assert response.status_code == 400 and field in response.json()


def test_readable_filters_still_filter(api_as, holly, privacy_officer):
    client = api_as(privacy_officer)
    assert len(client.get("/api/v1/contacts/", {"tracking_allowed": "false"}).json()["results"]) == 1
    assert client.get("/api/v1/contacts/", {"tracking_allowed": "true"}).json()["results"] == []
    assert len(client.get("/api/v1/contacts/", {"min_level": "2"}).json()["results"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"level": "3"},
        {"level": 3.0},
        {"level": True},
        {"purposes": {"newsletter": "no"}},
        {"purposes": {"newsletter": 0}},
        {"tracking_allowed": 1},
        {"level": 3, "justification": 5},
    ],
)
def test_a_consent_change_with_a_value_of_the_wrong_type_is_refused(api_as, holly, privacy_officer, body):
    response = api_as(privacy_officer).post(
        f"/api/v1/contacts/{holly.pk}/consent/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    holly.refresh_from_db()
    assert holly.consent_given == 2 and holly.purpose_consents.get().granted is True


@pytest.mark.parametrize("field", ["details", "requester_name", "requester_email"])
def test_a_request_with_a_number_for_text_is_refused(api_as, privacy_officer, field):
    body = {"kind": "access", "requester_email": "someone@example.org", field: 0}
    response = api_as(privacy_officer).post("/api/v1/requests/", body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()
    assert not DataSubjectRequest.objects.exists()


def test_a_form_body_is_refused_as_an_unsupported_media_type(api_as, holly, privacy_officer):
    # A form cannot carry purposes as the schema describes them: they were silently left out.
    response = api_as(privacy_officer).post(f"/api/v1/contacts/{holly.pk}/consent/", {"level": "4"})
    assert response.status_code == 415
    holly.refresh_from_db()
    assert holly.consent_given == 2


def test_text_with_a_nul_character_is_ruled_out_by_the_schema_as_by_the_api(api_as, holly, privacy_officer):
    # The schema allowed any text, so a client could send what DRF then refuses (400).
    import re

    components = SchemaGenerator().get_schema(public=True)["components"]["schemas"]
    email = components["ContactSearchRequest"]["properties"]["email"]
    details = components["DataSubjectRequestRequest"]["properties"]["details"]
    for schema_ in (email, details):
        assert re.fullmatch(schema_["pattern"], "a\x00b") is None and re.fullmatch(schema_["pattern"], "ab")
    client = api_as(privacy_officer)
    search = client.post("/api/v1/contacts/search/", {"email": "a\x00b"}, content_type="application/json")
    assert search.status_code == 400
    body = {"kind": "access", "requester_email": "someone@example.org", "details": "a\x00b"}
    assert client.post("/api/v1/requests/", body, content_type="application/json").status_code == 400


@pytest.mark.parametrize("number", [2**63, 2**70, -(2**70)])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/contacts/{}/"),
        ("get", "/api/v1/consent-changes/{}/"),
        ("post", "/api/v1/contacts/{}/consent/"),
        ("get", "/api/v1/consent-changes/?contact={}"),
    ],
)
def test_an_id_beyond_a_bigint_is_refused_before_the_database(
    api_as, holly, privacy_officer, method, url, number
):
    # PostgreSQL would refuse it with an error (a 500); the schema states the range instead.
    response = getattr(api_as(privacy_officer), method)(
        url.format(number), {}, content_type="application/json"
    )
    assert response.status_code in (400, 404) and response["Content-Type"] == "application/json"


def test_a_body_over_the_upload_limit_is_a_json_400(api_as, holly, privacy_officer, settings):
    # Django refuses it before DRF sees it, and answered with its HTML "Bad Request (400)" page.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = api_as(privacy_officer)
    body = {"level": 4, "evidence": {"note": "x" * 2000}}
    response = client.post(f"/api/v1/contacts/{holly.pk}/consent/", body, content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request body is larger than the API accepts."}
    holly.refresh_from_db()
    assert holly.consent_given == 2
    assert "text/html" in client.post("/admin/login/", {"x": "y" * 2000})["Content-Type"]  # pages keep HTML


def test_the_schema_is_valid_openapi_without_warnings(tmp_path):
    # The postprocessing hook writes raw OpenAPI (errors, links, bounds): a typo there would give
    # clients a schema their tools reject.
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


@pytest.mark.parametrize("body", [{"email": 0}, {"phone": 301234567}, {"email": ["holly@contoso.com"]}])
def test_a_search_with_a_value_that_is_not_text_is_refused(api_as, holly, privacy_officer, body):
    # DRF read 301234567 as the text "301234567" and searched for it, where the schema says text.
    response = api_as(privacy_officer).post("/api/v1/contacts/search/", body, content_type="application/json")
    assert response.status_code == 400 and set(body) <= set(response.json()["errors"])
