"""What the OpenAPI schema says beyond what drf-spectacular reads from the views, kept in one place:
the error answers each operation can give, the range of ids in paths, and the links from one
operation's answer to the next operation (for clients, and for schemathesis's stateful tests).

drf-spectacular documents successes only; a client (or a fuzzer checking the schema) would take
any 4xx for a broken promise. DRF's errors come in two shapes: `{"detail": "..."}` for a request
refused as a whole (authentication, permission, not found, throttled, unsupported media type),
and field → messages for invalid input.
"""

from staff.api_base import ID_MAX, ID_MIN

# Error bodies as DRF writes them (rest_framework.exceptions, views.exception_handler).
ERROR = {
    "type": "object",
    "description": "A request refused as a whole, and why.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
MESSAGES = {"type": "array", "items": {"type": "string"}}
REFUSAL = {
    "type": "object",
    "description": "A well-formed request the service refuses, with its message (and per field).",
    "properties": {
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": MESSAGES},
    },
    "required": ["detail"],
}
INVALID = {
    "type": "object",
    "description": "Invalid input: `detail` for the request as a whole, or each refused field (query "
    "parameter or body field) with its messages; `non_field_errors` for the body as a whole.",
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": MESSAGES,
    },
    # A refused field of a dict or list (e.g. one purpose's answer) holds messages per key.
    "additionalProperties": {"oneOf": [MESSAGES, {"type": "object"}]},
}

ANSWERS = {
    "400": ("The request was refused: its parameters or body are invalid.", "InvalidRequest"),
    "401": ("No API key, or an invalid or revoked one.", "Error"),
    "403": ("The key's user has no role that allows this.", "Error"),
    "404": ("No such object, or a cursor that is not one this API gave out.", "Error"),
    "406": ("The `Accept` header asks for a format the API does not write.", "Error"),
    "409": ("Refused by the service: the request conflicts with the data on file.", "Refusal"),
    "415": ("The body's `Content-Type` is not one the API reads (JSON).", "Error"),
    "429": ("Too many requests from this key (API_RATE_LIMIT); retry later.", "Error"),
}
HEADERS = {
    "401": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Token`"}},
    "429": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
}


def _answers(operation: dict) -> list[str]:
    """The error statuses one operation can answer with. Every operation authenticates, checks
    permissions, throttles, negotiates the format and applies its view's filters (retrieval too,
    so even a detail URL refuses an invalid filter with 400)."""
    codes = ["400", "401", "403", "406", "429"]
    parameters = operation.get("parameters", [])
    if any(p["in"] == "path" or p["name"] == "cursor" for p in parameters):
        codes.append("404")
    if "requestBody" in operation:
        codes.append("415")
    return codes


def _link(operation_id: str, description: str, **parameters: str) -> dict:
    return {"operationId": operation_id, "parameters": parameters, "description": description}


# (operationId, status) -> the operations its answer leads to, with the values they take from it.
CONTACT_LINKS = {
    "ChangeConsent": ("v1_contacts_consent_create", "Change this contact's consent.", "id"),
    "ConsentChanges": ("v1_consent_changes_list", "This contact's consent change records.", "contact"),
    "Eligibility": ("v1_contacts_eligibility_retrieve", "Why this contact is (not) eligible.", "id"),
}


def _contact_links(pointer: str, *, detail: bool = True) -> dict:
    links = {name: _link(op, text, **{param: pointer}) for name, (op, text, param) in CONTACT_LINKS.items()}
    if detail:
        links["Contact"] = _link("v1_contacts_retrieve", "The contact.", id=pointer)
    return links


LINKS = {
    ("v1_contacts_list", "200"): _contact_links("$response.body#/results/0/id"),
    ("v1_contacts_search_create", "200"): _contact_links("$response.body#/results/0/id"),
    ("v1_contacts_retrieve", "200"): _contact_links("$response.body#/id", detail=False),
    ("v1_contacts_consent_create", "200"): {
        **_contact_links("$response.body#/contact/id"),
        "Change": _link(
            "v1_consent_changes_retrieve", "The first change recorded.", id="$response.body#/changes/0/id"
        ),
    },
    ("v1_consent_changes_list", "200"): {
        "Change": _link(
            "v1_consent_changes_retrieve", "The first record.", id="$response.body#/results/0/id"
        ),
        **_contact_links("$response.body#/results/0/contact"),
    },
    ("v1_consent_changes_retrieve", "200"): _contact_links("$response.body#/contact"),
    ("v1_requests_list", "200"): {
        "Request": _link(
            "v1_requests_retrieve", "The first request.", reference="$response.body#/results/0/reference"
        ),
    },
    ("v1_requests_retrieve", "200"): _contact_links("$response.body#/contacts/0"),
}
for status in ("200", "201"):  # a new request, or the open one it joined
    LINKS[("v1_requests_create", status)] = {
        "Request": _link("v1_requests_retrieve", "The request.", reference="$response.body#/reference"),
        **_contact_links("$response.body#/contacts/0"),
    }

# The resources of contacts' writes, catalogue, subscriptions, segments and delivery receipts.
LINKS.update(
    {
        ("v1_contacts_create", "201"): _contact_links("$response.body#/id"),
        ("v1_contacts_partial_update", "200"): _contact_links("$response.body#/id", detail=False),
        ("v1_purposes_list", "200"): {
            "Purpose": _link("v1_purposes_retrieve", "The first purpose.", slug="$response.body#/0/slug")
        },
        ("v1_lists_list", "200"): {
            "List": _link("v1_lists_retrieve", "The first list.", slug="$response.body#/0/slug")
        },
        ("v1_subscriptions_list", "200"): {
            "Subscription": _link(
                "v1_subscriptions_retrieve", "The first subscription.", id="$response.body#/results/0/id"
            ),
            **_contact_links("$response.body#/results/0/contact"),
        },
        ("v1_subscriptions_retrieve", "200"): _contact_links("$response.body#/contact"),
        ("v1_segments_list", "200"): {
            "Segment": _link("v1_segments_retrieve", "The first segment.", id="$response.body#/0/id"),
            "Members": _link("v1_segments_members_list", "Its eligible members.", id="$response.body#/0/id"),
        },
        ("v1_segments_retrieve", "200"): {
            "Members": _link("v1_segments_members_list", "Its eligible members.", id="$response.body#/id")
        },
        ("v1_segments_members_list", "200"): _contact_links("$response.body#/results/0/id"),
        ("v1_deliveries_list", "200"): {
            "Delivery": _link(
                "v1_deliveries_retrieve", "The first receipt.", id="$response.body#/results/0/id"
            )
        },
    }
)


def _request_links(pointer: str) -> dict:
    """From a request to what an integrator reads next about it."""
    return {
        "Downstream": _link(
            "v1_requests_downstream_retrieve", "The systems it waits for.", reference=pointer
        ),
        "Bundles": _link("v1_requests_bundles_retrieve", "Its export bundles.", reference=pointer),
    }


def _run_links(pointer: str) -> dict:
    return {
        "Run": _link("v1_import_runs_retrieve", "The run: status and progress.", id=pointer),
        "Report": _link("v1_import_runs_report_retrieve", "Its report of refused rows.", id=pointer),
    }


for decision in ("verify", "start", "assign", "extend", "decline", "complete", "restrict", "erase", "waive"):
    LINKS[(f"v1_requests_{decision}_create", "200")] = {
        "Request": _link("v1_requests_retrieve", "The request.", reference="$response.body#/reference"),
        **_request_links("$response.body#/reference"),
    }
LINKS[("v1_import_sources_list", "200")] = {
    "Source": _link("v1_import_sources_retrieve", "The first source.", id="$response.body#/results/0/id"),
    "Upload": _link(
        "v1_import_sources_upload_create", "Upload a file to it.", id="$response.body#/results/0/id"
    ),
}
LINKS[("v1_import_sources_retrieve", "200")] = {
    "Upload": _link("v1_import_sources_upload_create", "Upload a file to it.", id="$response.body#/id"),
}
LINKS[("v1_import_sources_upload_create", "201")] = _run_links("$response.body#/id")
LINKS[("v1_import_runs_list", "200")] = _run_links("$response.body#/results/0/id")
LINKS[("v1_import_runs_retrieve", "200")] = {
    "Report": _link("v1_import_runs_report_retrieve", "Its report of refused rows.", id="$response.body#/id"),
    "Source": _link("v1_import_sources_retrieve", "The source.", id="$response.body#/source"),
}


# DRF and django-filter refuse a NUL character in text (and PostgreSQL could not store it).
NO_NUL = "^[^\\u0000]*$"


def _no_nul(schema: dict) -> None:
    if schema.get("type") == "string" and not {"enum", "format", "pattern"} & schema.keys():
        schema["pattern"] = NO_NUL


def _request_components(result: dict) -> set[str]:
    refs = set()
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                refs.add(media["schema"].get("$ref", "").rpartition("/")[2])
    return refs - {""}


def document_errors_and_links(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name in _request_components(result):
        for field in schemas[name].get("properties", {}).values():
            _no_nul(field)
    schemas["Error"] = ERROR
    schemas["InvalidRequest"] = INVALID
    schemas["Refusal"] = REFUSAL
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                # Primary keys are bigints: a larger number is refused (404) before the database.
                if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                    parameter["schema"].update(minimum=ID_MIN, maximum=ID_MAX)
                if parameter["in"] == "query":
                    _no_nul(parameter["schema"])
            responses = operation["responses"]
            # The answers every such operation gives, and those a view declares (409) without a body.
            for code in dict.fromkeys(_answers(operation) + [c for c in responses if c in ANSWERS]):
                description, component = ANSWERS[code]
                # A view may say more about when it refuses; the body is always DRF's.
                answer = responses.setdefault(code, {})
                answer["description"] = answer.get("description") or description
                # Examples a view gives of its refusals stay (their bodies are of this shape).
                examples = answer.get("content", {}).get("application/json", {}).get("examples")
                answer["content"] = {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{component}"},
                        **({"examples": examples} if examples else {}),
                    }
                }
                if code in HEADERS:
                    answer["headers"] = HEADERS[code]
            for status, response in responses.items():
                links = LINKS.get((operation["operationId"], status))
                if links:
                    response["links"] = links
    return result
