"""JSON-LD of consent receipts without the network: the bundled @context and pyld with a document
loader that knows only it, so expanding a receipt never fetches anything (and a document naming
another remote context is refused, not looked up)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pyld import jsonld

# An identifier, never dereferenced: the context travels in the repository (context.jsonld) and
# any reader may copy it from a receipt's documentation.
CONTEXT_URL = "https://consent-office.invalid/ns/consent-receipt/v1.jsonld"
DPV = "https://w3id.org/dpv#"
DCT = "http://purl.org/dc/terms/"


class ReceiptUnreadable(ValueError):
    """Not a consent receipt this product can read; the message says why in plain words."""


@cache
def context_document() -> dict:
    return json.loads((Path(__file__).with_name("context.jsonld")).read_text(encoding="utf-8"))


def _local_loader(url: str, options=None) -> dict:
    if url != CONTEXT_URL:
        raise ReceiptUnreadable(f"The document refers to the context {url[:200]}, which is not known here.")
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": context_document(),
    }


def expand(document) -> list[dict]:
    """The document expanded to full IRIs; ReceiptUnreadable when it names an unknown context or
    holds a term no context defines (pyld would drop it silently: evidence must not vanish)."""
    dropped: list[str] = []
    try:
        expanded = jsonld.expand(
            document,
            {"documentLoader": _local_loader},
            on_property_dropped=lambda name: dropped.append(str(name)),
        )
    except ReceiptUnreadable:
        raise
    except jsonld.JsonLdError as error:
        cause = error
        while cause is not None and not isinstance(cause, ReceiptUnreadable):
            cause = cause.__cause__ or cause.__context__  # the loader's refusal, wrapped by pyld
        if cause is not None:
            raise ReceiptUnreadable(str(cause)) from None
        raise ReceiptUnreadable(f"The document is not valid JSON-LD ({error.code or error.type}).") from None
    if dropped:
        names = ", ".join(sorted(set(dropped))[:10])
        raise ReceiptUnreadable(f"The document uses terms no context defines: {names}.")
    return expanded
