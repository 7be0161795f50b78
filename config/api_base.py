"""Building blocks every API view shares: role permissions and a pagination that never counts.

Kept apart from config/api.py (the URLs) because DRF reads these from settings while its own view
module is still being imported.
"""

import codecs

from django.core.exceptions import ValidationError
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.utils.json import strict_constant

from config import safe_json
from staff.roles import has_role


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing with a 400 and a message what no database column stores (NUL,
    lone surrogates) and nesting deeper than safe_json.MAX_DEPTH, checked before parsing (the
    json module recurses, and a deep body was a RecursionError, a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            return safe_json.loads(text, parse_constant=strict_constant if self.strict else None)
        except ValidationError as error:
            raise ParseError(" ".join(error.messages)) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


class HasRole(BasePermission):
    """Staff without a role read nothing through the API, not even its schema or docs (a key
    made for such an account, or a session of one, must not map the data model)."""

    def has_permission(self, request, view):
        return has_role(request.user)


class ModelPermissions(DjangoModelPermissions):
    """The staff roles' Django model permissions, reads included: DRF's default lets any
    authenticated user read, which would let a Marketer's key list data subject requests."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view):
        # The router's root view skips model permissions: the role check still applies to it.
        return has_role(request.user) and super().has_permission(request, view)


def has_perms(*perms: str) -> type[BasePermission]:
    """A permission class requiring the named Django permissions (for actions beyond CRUD)."""

    class HasPerms(BasePermission):
        def has_permission(self, request, view):
            return has_role(request.user) and request.user.has_perms(perms)

    HasPerms.__name__ = f"HasPerms_{'_'.join(p.replace('.', '_') for p in perms)}"
    return HasPerms


class Pagination(CursorPagination):
    """Cursor pagination: a page costs an indexed range scan, never a COUNT over a million rows."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


def integer_filter(*, low: int, high: int, **kwargs):
    """A whole-number query filter whose schema states its bounds, so a client (or a fuzzer)
    reading the OpenAPI schema sends only values the server accepts, and gets 400 otherwise."""
    from django import forms
    from django_filters import rest_framework as filters
    from drf_spectacular.utils import extend_schema_field

    @extend_schema_field({"type": "integer", "minimum": low, "maximum": high})
    class IntegerFilter(filters.NumberFilter):
        field_class = forms.IntegerField

    return IntegerFilter(min_value=low, max_value=high, **kwargs)
