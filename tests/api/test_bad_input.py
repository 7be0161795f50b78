"""Bodies no form would send: NUL characters, lone surrogates and deep nesting get a 400 with a
message and change nothing (each was a 500 on PostgreSQL: a DataError, an encoding error, or a
RecursionError inside the JSON parser)."""

import pytest

from consent.models import ConsentChange
from dsr.models import DataSubjectRequest
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"level": 1, "evidence": {"form": "x\\u0000y"}}', "NUL character"),
        ('{"purposes": {"news\\u0000": true}}', "NUL character"),
        ('{"level": 1, "evidence": {"form": "x\\ud800y"}}', "lone surrogate (U+D800)"),
        ('{"level": 1, "evidence": {"x\\udfff": 1}}', "lone surrogate (U+DFFF)"),
        ('{"level": 1, "evidence": {"rows": ' + DEEP + "}}", "nested more than 32 levels"),
        ('{"level": 1, "evidence": ' + "[" * 40 + "]" * 40 + "}", "nested more than 32 levels"),
    ],
    ids=["nul-in-evidence", "nul-in-purpose-key", "surrogate-value", "surrogate-key", "deep", "40-deep"],
)
def test_a_consent_change_with_text_no_database_stores_is_refused_with_a_message(
    api_as, privacy_officer, body, message
):
    contact = ContactFactory()
    response = api_as(privacy_officer).post(
        f"/api/v1/contacts/{contact.pk}/consent/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not ConsentChange.objects.exists()
    contact.refresh_from_db()
    assert contact.consent_given == 0


def test_brackets_and_escapes_inside_strings_are_text_not_nesting(api_as, privacy_officer, logging_on):
    contact = ContactFactory()
    evidence = '{"form": "' + "[{" * 50 + '\\"]", "pair": "\\ud83d\\ude00"}'
    response = api_as(privacy_officer).post(
        f"/api/v1/contacts/{contact.pk}/consent/",
        '{"level": 1, "evidence": ' + evidence + "}",
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert ConsentChange.objects.get().evidence["client"]["pair"] == "\N{GRINNING FACE}"


@pytest.mark.parametrize("text", ["a\\u0000b", "a\\udc00b"])
def test_a_request_with_text_no_database_stores_is_refused_with_a_message(api_as, privacy_officer, text):
    body = '{"kind": "access", "requester_email": "a@example.org", "details": "' + text + '"}'
    response = api_as(privacy_officer).post("/api/v1/requests/", body, content_type="application/json")
    assert response.status_code == 400
    assert not DataSubjectRequest.objects.exists()
