"""The contact page's "What did we hold on date X?": the officer picks a moment and sees the level,
the tracking choice and each purpose answer in force then, each with the change record that set
it, from consent.held (the records, never the current state; the same function that records
what each send relied on)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.held import consent_held_at
from core.models import ComplianceSettings
from staff.access_log import record_access
from staff.models import AccessLogEntry

HELD_PERMISSION = "consent.view_held_consent"


class HeldAtForm(forms.Form):
    """The moment asked about; a moment still to come is refused (nothing was held then yet)."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(
        label=_("Time"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time", "step": 1}),
        help_text=_("Empty: the end of that day."),
    )

    def clean(self):
        cleaned = super().clean()
        day = cleaned.get("date")
        if day is None:
            return cleaned
        moment = cleaned.get("time") or dt.time(23, 59, 59, 999999)
        when = timezone.make_aware(dt.datetime.combine(day, moment), timezone.get_current_timezone())
        if when > timezone.now() and (cleaned.get("time") or day > timezone.localdate()):
            raise forms.ValidationError(
                _("Pick a moment that has passed: nothing was held in the future yet.")
            )
        cleaned["when"] = min(when, timezone.now())
        return cleaned


def held_view(model_admin, request, object_id):
    """Only for who may read past consent (officers, auditors); logged like any contact view."""
    if not request.user.has_perm(HELD_PERMISSION):
        raise PermissionDenied
    contact = model_admin.get_object(request, unquote(object_id))
    if contact is None:
        return model_admin._get_obj_does_not_exist_redirect(request, model_admin.opts, object_id)
    if not model_admin.has_view_or_change_permission(request, contact):
        raise PermissionDenied
    form = HeldAtForm(request.GET or None)
    held = consent_held_at(contact, form.cleaned_data["when"]) if form.is_bound and form.is_valid() else None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("What did we hold for %s?") % contact,
        "subtitle": None,
        "opts": model_admin.opts,
        "object": contact,
        "form": form,
        "held": held,
        "rows": _rows(held) if held else [],
        "records_off": not ComplianceSettings.load().log_consent_changes,
    }
    record_access(request=request, action=AccessLogEntry.Action.HISTORY, contact_ids=[contact.pk])
    return TemplateResponse(request, "admin/contacts/contact/held.html", context)


def _rows(held) -> list[tuple[str, str, object]]:
    """(what, the value in force, the record that set it or None) for the page's table."""
    rows = [
        (_("Consent level"), held.level_words, held.level_record),
        (
            _("Tracking"),
            _("Allow") if held.tracking_allowed else _("Do not allow"),
            held.tracking_record,
        ),
    ]
    for answer in held.answers:
        words = answer.words if answer.granted is not None else _("not answered")
        rows.append((_("Purpose: %s") % answer.purpose.name, words, answer.record))
    return rows
