"""OpenAPI examples of the contact and consent-change operations (shown in /api/docs/): what a
client sends and what it gets back, kept apart so the views stay readable."""

from drf_spectacular.utils import OpenApiExample

CONTACT = {
    "id": 17,
    "first_name": "Holly",
    "last_name": "Berry",
    "email": "holly@contoso.com",
    "phone": "+4930901820",
    "language": "de",
    "consent_given": 3,
    "consent_level": "Subscriptions",
    "tracking_allowed": False,
    "purposes": [
        {
            "purpose": "newsletter",
            "purpose_name": "Newsletter",
            "granted": True,
            "changed_at": "2026-03-01T09:30:00Z",
            "source": "subscription_center",
        }
    ],
    "sensitive": {"is_child": False, "date_of_birth": None, "guardian": None, "processing_restricted": False},
    "created_at": "2026-02-11T08:00:00Z",
    "updated_at": "2026-03-01T09:30:00Z",
}
CONTACT_FOR_MARKETER = {**CONTACT, "sensitive": None}

CHANGE = {
    "id": 311,
    "contact": 17,
    "field": "consent_given",
    "purpose": None,
    "old_value": "3",
    "new_value": "4",
    "source": "api",
    "channel": "api:Web shop",
    "actor": "webshop-integration",
    "justification": "Ticked “news and offers” at checkout",
    "evidence": {
        "client": {"form": "checkout", "wording_version": "2026-01"},
        "api_key": "co_3fa9",
        "ip": "203.0.113.7",
        "user_agent": "shop-backend/4.2",
    },
    "effective_at": "2026-03-02T10:00:00Z",
    "recorded_at": "2026-03-02T10:00:00Z",
}
PURPOSE_CHANGE = {
    **CHANGE,
    "id": 312,
    "field": "purpose",
    "purpose": "newsletter",
    "old_value": "",
    "new_value": "True",
}
IMPORTED_CHANGE = {
    **CHANGE,
    "id": 12,
    "source": "import",
    "channel": "Web shop",
    "actor": None,
    "justification": "Imported from Web shop (shop-consents.csv, row 4)",
    "evidence": {
        "import_run": 42,
        "import_source": "Web shop",
        "file": "shop-consents.csv",
        "row": 4,
        "source_key": "1001",
    },
}


def _page(*results) -> dict:
    return {"next": None, "previous": None, "results": list(results)}


def answer(name: str, value, status: str = "200", description: str = "") -> OpenApiExample:
    return OpenApiExample(
        name, value=value, response_only=True, status_codes=[status], description=description
    )


CONTACT_LIST = [
    answer("Contacts", _page(CONTACT)),
    answer("As a marketer", _page(CONTACT_FOR_MARKETER), description="Sensitive fields are null."),
]
CONTACT_DETAIL = [answer("A contact", CONTACT), answer("As a marketer", CONTACT_FOR_MARKETER)]
CONTACT_SEARCH = [
    OpenApiExample("By address", value={"email": "Holly@Contoso.com"}, request_only=True),
    OpenApiExample("By number", value={"phone": "030 901820"}, request_only=True),
    answer("Found", {"results": [CONTACT]}),
    answer("Nobody", {"results": []}),
]
CONSENT_CHANGE = [
    OpenApiExample(
        "Raise to Marketing with a purpose",
        value={
            "level": 4,
            "purposes": {"newsletter": True},
            "justification": "Ticked “news and offers” at checkout",
            "evidence": {"form": "checkout", "wording_version": "2026-01"},
        },
        request_only=True,
    ),
    OpenApiExample("Withdraw tracking", value={"tracking_allowed": False}, request_only=True),
    answer(
        "Changed",
        {
            "contact": {**CONTACT, "consent_given": 4, "consent_level": "Marketing"},
            "changes": [CHANGE, PURPOSE_CHANGE],
        },
    ),
    answer(
        "Refused by the consent service",
        {"detail": "Unknown purpose: horoscope."},
        "409",
    ),
    answer("Malformed", {"level": ["Consent levels run from 0 to 5."]}, "400"),
]
CHANGE_LIST = [answer("Change records", _page(PURPOSE_CHANGE, CHANGE, IMPORTED_CHANGE))]
CHANGE_DETAIL = [
    answer("Through the API", CHANGE),
    answer("From an import", IMPORTED_CHANGE, description="No staff user: the actor is null."),
]
