"""Text and JSON that every store accepts: no NUL, no lone surrogate, bounded nesting.

Python's json module accepts what no database column takes: "\\u0000" (PostgreSQL refuses NUL in
text and jsonb, a DataError), a lone surrogate such as "\\ud800" (no UTF-8 encoding exists, so the
driver fails), and nesting deep enough to exhaust the interpreter's stack (RecursionError). Each
would surface as a 500 wherever it is parsed or stored. Every way JSON or text comes in (API
bodies, admin JSON fields, segment rules, imported cells) goes through here and gets a message.
"""

from __future__ import annotations

import json
import re

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.utils.translation import gettext as _

# Deep enough for every shape the product stores (segment rules nest at most 5 groups, evidence is
# a flat object), far below the interpreter's recursion limit.
MAX_DEPTH = 32

_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string literal (escapes included), replaced before counting brackets so a "[" inside a
# string does not count.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None. Python strings hold a surrogate code point only
    when it is lone (a valid pair decodes to one character)."""
    if "\x00" in value:
        return _("Text cannot contain the NUL character (\\u0000).")
    found = _SURROGATE.search(value)
    if found:
        return _("Text cannot contain a lone surrogate (U+%04X): it is not a character.") % ord(found.group())
    return None


def check_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValidationError(problem, code="bad_text")
    return value


def check_json(value, *, max_depth: int = MAX_DEPTH):
    """Refuse parsed JSON (dicts, lists, scalars) nested deeper than `max_depth` or holding a key
    or a string that no database stores. Iterative: a deep value cannot exhaust the stack here."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            check_text(node)
        elif isinstance(node, dict | list):
            if depth > max_depth:
                raise _too_deep(max_depth)
            if isinstance(node, dict):
                for key, item in node.items():
                    if isinstance(key, str):
                        check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in node)
    return value


def _too_deep(max_depth: int) -> ValidationError:
    return ValidationError(
        _("The JSON is nested more than %(depth)d levels deep.") % {"depth": max_depth}, code="too_deep"
    )


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON text, counted without parsing it."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, **kwargs):
    """json.loads that refuses, with a ValidationError, what check_json refuses, and nesting
    before it is parsed (the parser itself recurses). Malformed JSON stays a ValueError."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")
    if json_depth(text) > max_depth:
        raise _too_deep(max_depth)
    return check_json(json.loads(text, **kwargs), max_depth=max_depth)


class JSONFormField(forms.JSONField):
    """Django's JSON form field, refusing with a form error what `loads` refuses. Django's own
    parses with json.loads: a NUL or a lone surrogate reached the database (a 500 on PostgreSQL)
    and deep nesting was a RecursionError, also when the form was shown again with its errors."""

    def to_python(self, value):
        if isinstance(value, str) and not self.disabled and value not in self.empty_values:
            try:
                loads(value, cls=self.decoder)
            except ValidationError as error:
                raise ValidationError(error.messages, code="invalid") from None
            except ValueError:
                pass  # malformed JSON: Django's own message
        return super().to_python(value)

    def bound_data(self, data, initial):
        # Shown again as typed: parsed, it would recurse, or put a lone surrogate in the page
        # (which cannot be encoded, a 500 instead of the form with its error).
        if isinstance(data, str) and not self.disabled:
            try:
                loads(data, cls=self.decoder)
            except ValidationError:
                return InvalidJSONInput(data)
            except ValueError:
                pass
        return super().bound_data(data, initial)
