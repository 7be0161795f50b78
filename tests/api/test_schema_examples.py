"""The API's documentation shows an example of every operation: what a client sends (for an operation
with a JSON or form body), what it gets back, and what a refusal by the service looks like."""

from drf_spectacular.generators import SchemaGenerator

SCHEMA = SchemaGenerator().get_schema(public=True)
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in SCHEMA["paths"].items()
    for method, operation in item.items()
]


def _examples(content: dict) -> set[str]:
    return {media for media, body in content.items() if body.get("examples")}


def test_every_operation_shows_an_example_answer():
    missing = [
        f"{method} {path}"
        for method, path, operation in OPERATIONS
        for status, response in operation["responses"].items()
        if status.startswith("2")
        # A file download (the import report) is bytes: nothing to show but its description.
        and "application/json" in response.get("content", {})
        and not _examples(response["content"])
    ]
    assert missing == []


def test_every_operation_with_a_body_shows_an_example_request():
    missing = [
        f"{method} {path}"
        for method, path, operation in OPERATIONS
        if "requestBody" in operation and not _examples(operation["requestBody"]["content"])
    ]
    assert missing == []


def test_refusals_by_a_service_keep_their_examples_under_the_documented_shape():
    complete = SCHEMA["paths"]["/api/v1/requests/{reference}/complete/"]["post"]["responses"]["409"]
    body = complete["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/Refusal"}
    waiting = body["examples"]["WaitingForASystem"]["value"]["detail"]
    assert waiting.startswith("Waiting for Web shop to acknowledge.")
