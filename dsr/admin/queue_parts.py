"""The queue's deadline filter (dsr.clocks) and the form of the officer's decisions on a request."""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dsr.clocks import deadline_before, deadline_between
from dsr.models import DataSubjectRequest
from webhooks.models import Endpoint


class DueFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("week", _("Due within 7 days"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        open_ = queryset.filter(status__in=DataSubjectRequest.OPEN)
        if self.value() == "overdue":
            return open_.filter(deadline_before(now))
        if self.value() == "week":
            return open_.filter(deadline_between(now, now + timedelta(days=7)))
        return queryset


class DecisionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("verify", "verify"),
            ("start", "start"),
            ("extend", "extend"),
            ("complete", "complete"),
            ("decline", "decline"),
            ("restrict", "restrict"),
            ("waive", "waive"),
            ("jurisdiction", "jurisdiction"),
        ]
    )
    jurisdiction = forms.CharField(required=False)
    expected_status = forms.CharField()
    endpoint = forms.ModelChoiceField(queryset=Endpoint.objects.all(), required=False)
    how = forms.CharField(required=False)
    until = forms.DateTimeField(required=False)
    reason = forms.CharField(required=False)
