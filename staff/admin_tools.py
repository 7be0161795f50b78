"""Admin building blocks shared by every app: a paginator that never counts a million rows, an
"Export to Excel" that exports exactly what the current changelist filter shows, and the two
steps every admin view repeats (saving through a service, fetching the object or refusing)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpResponseRedirect
from django.urls import path
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy

from core.levels import ConsentLevel, level_choices, level_label
from core.safe_json import JSONFormField
from core.xlsx import xlsx_response

# Every admin that edits a JSONField sets formfield_overrides to this (tests/config/
# test_safe_json.py finds any that does not): NUL, lone surrogates and deep nesting get a form error.
JSON_FORMFIELD_OVERRIDES = {models.JSONField: {"form_class": JSONFormField}}


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget looks up the posted value to show it again: a value that is
    not an id of the related model (NUL, text, a list) raised ValueError, a 500, when a form with
    another error was shown again. Such a value is dropped; the field itself reports it."""

    def optgroups(self, name, value, attr=None):
        target = self.field.target_field

        def is_key(candidate) -> bool:
            try:
                target.run_validators(target.to_python(candidate))  # the type and the column's range
            except (ValidationError, ValueError, TypeError):
                return False
            return True

        return super().optgroups(name, [v for v in value if is_key(v)], attr)


class SafeAutocompleteMixin:
    """For admins with autocomplete_fields: their widgets survive any posted value."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and type(formfield.widget) is AutocompleteSelect:
            widget = formfield.widget
            formfield.widget = SafeAutocompleteSelect(
                widget.field, widget.admin_site, attrs=widget.attrs, using=widget.db
            )
            formfield.widget.choices = widget.choices
        return formfield


class CappedCountPaginator(Paginator):
    """Counts at most ADMIN_LIST_COUNT_CAP + 1 rows (COUNT over a LIMIT subquery), so a page view
    costs the same at a thousand or a million contacts. The template then says "more than N"."""

    @cached_property
    def cap(self) -> int:
        return settings.ADMIN_LIST_COUNT_CAP

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def adopt_saved(obj: models.Model, saved: models.Model, *, refresh: bool = False) -> models.Model:
    """Let the admin's own instance stand for the row a service saved (save_model writes through
    a service, which creates or returns its own instance): the admin's redirect, log entry and
    message then name the saved row. Copies every column the service set; `refresh` reads the
    row again instead, for a save that wrote through further services after `saved` was made."""
    obj.pk = saved.pk
    obj._state.adding = False
    if refresh:
        obj.refresh_from_db()
        return obj
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    return obj


def object_or_403(model_admin, request, object_id, *, permission="view", post_only: bool = False):
    """The object of an admin's own view (a decision, an upload, a report), or PermissionDenied:
    when it does not exist or is not visible to this user (get_object applies get_queryset), when
    `post_only` and the request is no POST, or when the user lacks `permission` for it ("view",
    "change", or a callable taking the request and the object)."""
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None or (post_only and request.method != "POST"):
        raise PermissionDenied
    if callable(permission):
        allowed = permission(request, obj)
    else:
        allowed = getattr(model_admin, f"has_{permission}_permission")(request, obj)
    if not allowed:
        raise PermissionDenied
    return obj


class ReadOnlyAdminMixin:
    """For evidence and machine-written rows: nobody adds, changes or deletes them here, superusers included."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class XlsxExportMixin:
    """Adds an "Export to Excel" button (current filter) and action (selected rows).

    Subclasses set `export_permission` ("app.codename") and define `export_header(request)` and
    `export_rows(request, queryset)`; rows should be read with .iterator() so memory stays flat.
    """

    export_permission: str
    export_title: str = "Export"
    # What the staff access log records for an export, and how the rows lead to contacts.
    export_access_action: str = ""
    export_contact_path: str = "pk"
    change_list_template = "admin/export_change_list.html"
    actions = ["export_selected_xlsx"]

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm(self.export_permission)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        urls = [path("export/", self.admin_site.admin_view(self.export_view), name=name)]
        return urls + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        """Export the rows the changelist shows for the same query string (filters, search)."""
        if not (self.has_view_permission(request) and self.has_export_permission(request)):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(request.path.rsplit("export/", 1)[0] + "?e=1")
        return self._export(request, changelist.get_queryset(request))

    @admin.action(description="Export selected to Excel", permissions=["export"])
    def export_selected_xlsx(self, request, queryset):
        return self._export(request, queryset)

    def _export(self, request, queryset):
        queryset = queryset.order_by("pk")[: settings.EXPORT_MAX_ROWS]
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        if self.export_access_action:
            from staff.access_log import record_access

            contact_ids = queryset.values_list(self.export_contact_path, flat=True).iterator(chunk_size=5000)
            record_access(
                request=request, action=self.export_access_action, contact_ids=_distinct(contact_ids)
            )
        return xlsx_response(
            filename=f"{self.opts.model_name}-{stamp}.xlsx",
            title=self.export_title,
            header=self.export_header(request),
            rows=self.export_rows(request, queryset),
        )


def _distinct(ids):
    # None: a row no longer leading to a contact (a consent change record after an erasure).
    seen = {None}
    for pk in ids:
        if pk not in seen:
            seen.add(pk)
            yield pk


SEARCH_KEY_VAR = "_search"  # names a search term kept in the session; random, names nobody
_SESSION_SEARCHES = "admin_searches"
_KEPT_SEARCHES = 20


class PostedSearchMixin:
    """The search box sends its term by POST and the list URL carries only a random key to it.

    Staff search by email address or phone number: as `?q=` those would land in the web server's
    and proxies' access logs, the browser history and Referer headers (personal data never in a
    URL). The term is kept in the session; paging, sorting, filters and the export keep the key.
    A `?q=` in a URL (an old bookmark) is not searched for: the page says to use the box.
    """

    posted_search = True  # read by templates/admin/change_list.html

    def changelist_view(self, request, extra_context=None):
        from django.contrib import messages
        from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR
        from django.utils.translation import gettext as _

        if request.method == "POST" and SEARCH_VAR in request.POST and "action" not in request.POST:
            if not self.has_view_or_change_permission(request):
                raise PermissionDenied
            params = request.GET.copy()
            for name in (SEARCH_VAR, SEARCH_KEY_VAR, PAGE_VAR):
                params.pop(name, None)
            term = " ".join(request.POST[SEARCH_VAR].split())[:200]
            if term:
                params[SEARCH_KEY_VAR] = _remember_search(request, term)
            return HttpResponseRedirect(f"{request.path}?{params.urlencode()}" if params else request.path)
        if SEARCH_VAR in request.GET:
            params = request.GET.copy()
            params.pop(SEARCH_VAR)
            messages.warning(
                request, _("Type your search in the search box: a search in the address is not used.")
            )
            return HttpResponseRedirect(f"{request.path}?{params.urlencode()}" if params else request.path)
        return super().changelist_view(request, extra_context)

    def get_changelist(self, request, **kwargs):
        base = super().get_changelist(request, **kwargs)
        term = request.session.get(_SESSION_SEARCHES, {}).get(request.GET.get(SEARCH_KEY_VAR, ""), "")

        class PostedSearchChangeList(base):
            def get_filters_params(self, params=None):
                lookups = super().get_filters_params(params)
                lookups.pop(SEARCH_KEY_VAR, None)
                return lookups

            def get_queryset(self, request, *args, **kwargs):
                self.query = term
                return super().get_queryset(request, *args, **kwargs)

        return PostedSearchChangeList


def searches_forget(values: list[str]) -> int:
    """Drop every kept search term that mentions one of `values` from every session (an erased
    person's address typed into a search box stays in the session table until the session ends;
    the residue scan cannot read the encoded session data). Returns how many terms went.

    Only database-backed sessions can be walked; Django's default engine is one."""
    from importlib import import_module

    from django.contrib.sessions.models import Session

    if not settings.SESSION_ENGINE.startswith("django.contrib.sessions.backends.") or not (
        settings.SESSION_ENGINE.endswith((".db", ".cached_db"))
    ):
        return 0
    needles = [v.casefold() for v in values if v]
    if not needles:
        return 0
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    dropped = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=1000):
        searches = session.get_decoded().get(_SESSION_SEARCHES)
        if not searches:
            continue
        kept = {k: t for k, t in searches.items() if not any(n in t.casefold() for n in needles)}
        if len(kept) == len(searches):
            continue
        store = store_class(session_key=session.session_key)
        store[_SESSION_SEARCHES] = kept
        store.save()
        dropped += len(searches) - len(kept)
    return dropped


def _remember_search(request, term: str) -> str:
    import secrets

    searches = dict(request.session.get(_SESSION_SEARCHES, {}))
    for old in list(searches)[: max(0, len(searches) - _KEPT_SEARCHES + 1)]:
        del searches[old]  # dicts keep insertion order: the oldest go first
    key = secrets.token_urlsafe(9)
    searches[key] = term
    request.session[_SESSION_SEARCHES] = searches
    return key


def is_level_field(field) -> bool:
    """A model field whose choices are the consent levels (core.levels.ConsentLevel)."""
    return (
        bool(getattr(field, "choices", None))
        and [v for v, _label in field.flatchoices] == ConsentLevel.values
    )


class LevelFieldListFilter(admin.ChoicesFieldListFilter):
    """The list filter of every consent level field, in the organisation's words like the column
    and the form (registered below for any admin's list_filter naming such a field)."""

    def choices(self, changelist):
        yield next(iter(super().choices(changelist)))  # "All"
        for value, label in level_choices():
            yield {
                "selected": self.lookup_val is not None and str(value) in self.lookup_val,
                "query_string": changelist.get_query_string(
                    {self.lookup_kwarg: value}, [self.lookup_kwarg_isnull]
                ),
                "display": label,
            }


admin.FieldListFilter.register(is_level_field, LevelFieldListFilter, take_priority=True)


class LevelWordsMixin:
    """Consent level fields in the organisation's words (core.levels), not the built-in labels:
    the choices of every level field in the form, and a `min_level_shown` column."""

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if is_level_field(db_field):
            kwargs["choices"] = level_choices()
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("minimum consent"), ordering="min_level")
    def min_level_shown(self, obj):
        return level_label(obj.min_level)
