"""Building blocks every API view shares: role permissions, a pagination that never counts, and
filters and fields that accept what the OpenAPI schema states and refuse the rest.

Kept apart from config/api.py (the URLs) because DRF reads these from settings while its own view
module is still being imported.
"""

import codecs

from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.utils.json import strict_constant

from core import safe_json
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


# The range of a PostgreSQL bigint, which every primary key here is (DEFAULT_AUTO_FIELD).
ID_MIN, ID_MAX = 1, 2**63 - 1


class Pagination(CursorPagination):
    """Cursor pagination: a page costs an indexed range scan, never a COUNT over a million rows."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        # DRF silently falls back to the default for a page size it cannot read; the schema states
        # 1 to max_page_size, so anything else is refused and the client learns why.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (len(raw) <= 6 and raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            from rest_framework.exceptions import ValidationError

            raise ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def decode_cursor(self, request):
        # The cursor is the client's to send back, so it may be forged: a position that is not an
        # id would reach the database as `id < 'abc'` (a ValueError, a 500). DRF's own answer to a
        # cursor it cannot read is 404 "Invalid cursor"; a forged position gets the same.
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                valid = 0 <= int(cursor.position) <= ID_MAX
            except ValueError:  # not a number, or one of thousands of digits
                valid = False
            if not valid:
                from rest_framework.exceptions import NotFound

                raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


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


class FilterBackend(DjangoFilterBackend):
    """django-filter held to what the schema states. It ignores a filter it cannot read as given
    (`?recorded_before=`, `?tracking_allowed=null`) and answers unfiltered: a client with a typo
    would take all records for the ones it asked for. Refused instead, with the reason."""

    BOOLEANS = {"true", "false", "True", "False"}

    def filter_queryset(self, request, queryset, view):
        from django_filters import rest_framework as filters
        from rest_framework.exceptions import ValidationError

        filterset_class = self.get_filterset_class(view, queryset)
        errors = {}
        for name, filter_ in (filterset_class.base_filters if filterset_class else {}).items():
            for value in request.query_params.getlist(name):
                if value == "" and not isinstance(filter_, filters.CharFilter):
                    errors[name] = ["Leave the parameter out rather than send it empty."]
                elif isinstance(filter_, filters.BooleanFilter) and value not in self.BOOLEANS:
                    errors[name] = ["Either true or false."]
        if errors:
            raise ValidationError(errors)
        return super().filter_queryset(request, queryset, view)


def bad_request(request, exception):
    """Django's own 400 (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a suspicious request): JSON
    below /api/, in the shape the schema documents for 400; the HTML page everywhere else."""
    from django.core.exceptions import RequestDataTooBig
    from django.http import JsonResponse
    from django.utils.translation import gettext
    from django.views import defaults

    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            detail = gettext("The request body is larger than the API accepts.")
        else:
            detail = gettext("Bad request.")
        return JsonResponse({"detail": detail}, status=400)
    return defaults.bad_request(request, exception)


def not_found(request, exception):
    """A URL nothing answers: JSON below /api/, in the shape the schema documents for 404 (Django's
    HTML page would break a client parsing the answer); the HTML page everywhere else."""
    from django.http import JsonResponse
    from django.utils.translation import gettext
    from django.views import defaults

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
