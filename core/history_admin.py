"""The history page every audited record shares with the contact: one row per changed field,
filterable by field, exportable to Excel (core.history reads the rows).

`FieldHistoryAdminMixin` gives a model admin that page for each record (replacing
simple-history's snapshot list) and one for all its records, deleted ones included (a lifted
suppression entry is gone from the list but not from its history).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.history import EXPORT_HEADER, export_rows, record_field_choices, record_history
from core.xlsx import xlsx_response

# A page shows the newest changes; the export holds them all.
PAGE_ROWS = 1000


def field_history_response(
    model_admin,
    request,
    *,
    obj,
    title: str,
    choices: list[tuple[str, str]],
    rows_for: Callable[[str], list[dict]],
    can_export: bool,
    on_export: Callable[[], None] | None = None,
    links: list[tuple[str, str]] = (),
    show_subject: bool = False,
):
    """The history page (or, with ?export=xlsx, its rows as a workbook) for the field asked for.

    An unknown field shows every field with a warning; an export without permission is refused.
    """
    field = request.GET.get("field", "")
    if field and field not in dict(choices):
        messages.warning(request, _("There is no field “%s” to filter by; showing all.") % field)
        field = ""
    rows = rows_for(field)
    opts = model_admin.opts
    if request.GET.get("export") == "xlsx":
        if not can_export:
            raise PermissionDenied
        if on_export is not None:
            on_export()
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return xlsx_response(
            filename=f"{opts.model_name}-history-{stamp}.xlsx",
            title="History",
            header=EXPORT_HEADER,
            rows=export_rows(rows),
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": opts,
        "object": obj,
        "rows": rows[:PAGE_ROWS],
        "more": max(len(rows) - PAGE_ROWS, 0),
        "field_choices": choices,
        "field": field,
        "links": links,
        "can_export": can_export,
        "show_subject": show_subject,
    }
    return TemplateResponse(request, "admin/field_history.html", context)


class FieldHistoryAdminMixin:
    """A field-by-field history page per record and for all records of the model.

    `history_children`: (key, child model, the child's foreign key to the record) for records
    edited inline, e.g. a journey's steps; their changes show on the parent's page. Who may view
    the record may read and export its history (audited records hold no personal data).
    """

    history_children: tuple[tuple[str, type, str], ...] = ()

    def _children(self):
        return tuple(self.history_children)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_history_all"
        own = [path("history/", self.admin_site.admin_view(self.all_history_view), name=name)]
        return own + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_history_all")
        return super().changelist_view(request, {**(extra_context or {}), "history_all_url": url})

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            pk = self._deleted_pk(object_id)
            if pk is None or not self.has_view_or_change_permission(request):
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
            subject = f"{self.opts.verbose_name} #{pk}"
        else:
            if not self.has_view_or_change_permission(request, obj):
                raise PermissionDenied
            pk, subject = obj.pk, str(obj)
        all_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_history_all")
        return field_history_response(
            self,
            request,
            obj=obj,
            title=_("History of %s") % subject,
            choices=record_field_choices(self.model, self._children()),
            rows_for=lambda field: record_history(self.model, pk=pk, children=self._children(), field=field),
            can_export=True,
            links=[(all_url, _("Changes of all %s") % self.opts.verbose_name_plural)],
        )

    def all_history_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return field_history_response(
            self,
            request,
            obj=None,
            title=_("Changes of all %s") % self.opts.verbose_name_plural,
            choices=record_field_choices(self.model, self._children()),
            rows_for=lambda field: record_history(self.model, children=self._children(), field=field),
            can_export=True,
            show_subject=True,
        )

    def _deleted_pk(self, object_id):
        """The id of a deleted record that has history, else None (never a 500 for a bad id)."""
        try:
            pk = int(unquote(object_id))
        except (TypeError, ValueError):
            return None
        return pk if self.model.history.filter(id=pk).exists() else None
