"""The privacy officer's queue of data subject requests: the list, the request's page and the
decisions, discovery, export and erasure started from it (each through dsr's services)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Case, When
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from core.ids import parse_id
from dsr import bundles, services
from dsr.admin import clock
from dsr.admin.queue_parts import DecisionForm, DueFilter
from dsr.admin.request_details import RequestDetailsMixin
from dsr.assignee_mail import assignment_notify
from dsr.clocks import DEADLINE
from dsr.discovery import discover, find_contacts
from dsr.downstream import downstream_waiting, downstream_waive, request_subjects
from dsr.erasure import erasure_preview
from dsr.jurisdictions import default_jurisdiction, jurisdiction_choices
from dsr.models import DataSubjectRequest
from dsr.next_steps import request_next_steps
from staff.access_log import record_access
from staff.admin_tools import CappedCountPaginator, PostedSearchMixin, adopt_saved, object_or_403
from staff.models import AccessLogEntry
from webhooks.models import Endpoint
from webhooks.panels import downstream_panel

Status = DataSubjectRequest.Status


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(RequestDetailsMixin, PostedSearchMixin, SimpleHistoryAdmin):
    """The privacy officer's queue. Decisions go through dsr.services; nothing here deletes a request."""

    # What a queue exists for comes first (deadline, days left, assignee): at 1280 px with the
    # navigation and filter sidebars open every column fits without scrolling sideways
    # (tests/e2e). The requester's address is on the request's page (and searchable), not here.
    list_display = (
        "reference",
        "deadline_display",
        "days_left",
        "assignee_display",
        "status",
        "kind_display",
        "preview",
    )
    list_filter = ("status", "kind", DueFilter, "assignee")
    list_select_related = ("assignee",)

    search_fields = ("=reference", "=requester_email", "=requester_phone")
    paginator = CappedCountPaginator
    show_full_result_count = False
    actions = ["assign_to_me"]
    change_form_template = "admin/dsr/datasubjectrequest/change_form.html"
    readonly_fields = (
        "reference",
        "kind",
        "status",
        "requester_email",
        "requester_phone",
        "requester_name",
        "details",
        "channel",
        "received_at",
        "request_clock",
        "due_at",
        "due_both_ways",
        "verified_at",
        "verification",
        "extended_until",
        "extension_reason",
        "decline_reason",
        "closed_at",
        "linked_contacts",
        "authorised_agent",
        "staff_member",
        "erasure_result",
        "export_bundles",
        "downstream_systems",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return (
                "kind",
                "jurisdiction",
                "requester_email",
                "requester_phone",
                "requester_name",
                "details",
                "channel",
            )
        return (*self.readonly_fields, "assignee", "notes")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            return form

        class AddForm(form):
            jurisdiction = forms.ChoiceField(
                label=_("jurisdiction"),
                choices=jurisdiction_choices,
                initial=default_jurisdiction,
                required=False,  # the default one
            )

            def clean(self):
                """The service's rules as form errors: an address or a number, a valid number."""
                data = super().clean()
                if not data.get("requester_email") and not data.get("requester_phone"):
                    raise ValidationError(_("Give the requester's email address or phone number."))
                if phone := data.get("requester_phone"):
                    from core.normalize import normalize_phone

                    try:
                        data["requester_phone"] = normalize_phone(phone)
                    except ValidationError as error:
                        self.add_error("requester_phone", error)
                return data

        return AddForm

    def has_delete_permission(self, request, obj=None):
        return False  # a request is evidence of how it was answered

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "decision_actions": [
                "verify",
                "start",
                "extend",
                "complete",
                "decline",
                "restrict",
                "waive",
                "jurisdiction",
            ],
            "jurisdictions": jurisdiction_choices(),
        }
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            waiting = downstream_waiting(obj)
            extra_context["downstream_waiting"] = Endpoint.objects.filter(name__in=set(waiting))
            extra_context["next_steps"] = request_next_steps(obj, waiting=waiting)
            extra_context["may_decide"] = obj.is_open and self.has_change_permission(request, obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_ordering(self, request):
        # Open requests first, the most overdue on top; closed ones after, by their deadline.
        # (Annotations of get_queryset: the `ordering` attribute may name model fields only.)
        return ("closed_rank", "deadline_at", "pk")

    def get_queryset(self, request):
        # Annotated before the admin's ordering is applied, which sorts by these.
        queryset = self.model._default_manager.get_queryset().annotate(
            deadline_at=DEADLINE,
            closed_rank=Case(When(status__in=DataSubjectRequest.OPEN, then=0), default=1),
        )
        return (
            queryset.select_related("agent")
            .prefetch_related("contacts")
            .order_by(*self.get_ordering(request))
        )

    @staticmethod
    def _days_left(obj) -> int:
        return obj.clock.days_left()

    @admin.display(description=_("deadline"), ordering="deadline_at")
    def deadline_display(self, obj):
        deadline = timezone.localtime(obj.deadline).strftime("%Y-%m-%d")
        if not obj.is_open:
            return deadline
        days = self._days_left(obj)
        colour = "#a4000f" if days < 0 else ("#8a5300" if days <= 7 else "inherit")
        return format_html('<span style="color:{};font-weight:600">{}</span>', colour, deadline)

    @admin.display(description=_("days left"), ordering="deadline_at")
    def days_left(self, obj):
        if not obj.is_open:
            return "—"
        days = self._days_left(obj)
        if days < 0:
            return format_html(
                '<strong style="color:#a4000f">{}</strong>',
                ngettext("overdue by %d day", "overdue by %d days", -days) % -days,
            )
        if days == 0:
            return format_html('<strong style="color:#a4000f">{}</strong>', _("due today"))
        return ngettext("%d day", "%d days", days) % days

    @admin.display(description=_("assignee"), ordering="assignee__username")
    def assignee_display(self, obj):
        return obj.assignee.get_username() if obj.assignee else _("unassigned")

    @admin.display(description=_("type"), ordering="kind")
    def kind_display(self, obj):
        # "Access (Art. 15)" without the article: the column stays narrow, the page gives it.
        return obj.get_kind_display().split(" (")[0]

    @admin.display(description=_("member of staff"))
    def staff_member(self, obj):
        """A request from staff about their own logs: export them; never rectify or restrict them."""
        from django.contrib.auth import get_user_model

        from dsr.staff_requests import LOGS_ARE_FACTS

        user = (
            get_user_model().objects.filter(email__iexact=obj.requester_email).first()
            if obj.requester_email
            else None
        )
        if user is None:
            return "—"
        url = reverse("staff-logs") + f"?user={user.pk}&file_format=json"
        refusal = LOGS_ARE_FACTS if obj.kind in ("rectify", "restrict") else ""
        return format_html(
            '{} — <a href="{}">{}</a><br>{}',
            user.get_username(),
            url,
            _("everything logged about them"),
            refusal,
        )

    @admin.display(description=_("due, counted both ways"))
    def due_both_ways(self, obj):
        return clock.due_both_ways(obj)

    @admin.display(description=_("clock"))
    def request_clock(self, obj):
        return clock.clock_panel(obj)

    @admin.display(description=_("export bundles"))
    def export_bundles(self, obj):
        links = [
            format_html(
                '<a href="{}">{} — {}</a>',
                reverse("admin:dsr_exportbundle_change", args=[b.pk]),
                b.created_at.strftime("%Y-%m-%d %H:%M"),
                b.get_status_display(),
            )
            for b in obj.bundles.all()
        ]
        return format_html("<br>".join(["{}"] * len(links)), *links) if links else "—"

    @admin.display(description=_("downstream systems"))
    def downstream_systems(self, obj):
        """GDPR Art. 17(2), 19: which systems acknowledged the request's events and its people's."""
        return downstream_panel(subjects=[f"request:{obj.reference}", *request_subjects(obj)])

    @admin.display(description=_("erasure"))
    def erasure_result(self, obj):
        record = obj.erasures.first()
        if record is None:
            return "—"
        return render_to_string("admin/dsr/erasure_result.html", {"record": record})

    def save_model(self, request, obj, form, change):
        if change:
            obj._history_user = request.user
            super().save_model(request, obj, form, change)
            if "assignee" in form.changed_data:
                assignment_notify(request=obj, actor=request.user)
            return
        data = form.cleaned_data
        created_request, created = services.dsr_create(
            kind=data["kind"],
            channel=data["channel"],
            email=data["requester_email"],
            phone=data["requester_phone"],
            name=data["requester_name"],
            details=data["details"],
            actor=request.user,
            jurisdiction=data["jurisdiction"],
        )
        adopt_saved(obj, created_request, refresh=True)
        if not created:
            messages.info(
                request, _("An open request of this type exists for the address: the details joined it.")
            )

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        count = services.dsr_assign(requests=list(queryset), assignee=request.user, actor=request.user)
        self.message_user(request, _("%d requests assigned to you.") % count)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="dsr_datasubjectrequest_decide",
            ),
            path(
                "<path:object_id>/bundle/",
                self.admin_site.admin_view(self.bundle_view),
                name="dsr_datasubjectrequest_bundle",
            ),
            path(
                "<path:object_id>/erase/",
                self.admin_site.admin_view(self.erase_view),
                name="dsr_datasubjectrequest_erase",
            ),
            path(
                "<path:object_id>/discover/",
                self.admin_site.admin_view(self.discover_view),
                name="dsr_datasubjectrequest_discover",
            ),
            path(
                "<path:object_id>/agent-proof/",
                self.admin_site.admin_view(self.agent_proof_view),
                name="dsr_datasubjectrequest_agent_proof",
            ),
            path(
                "<path:object_id>/link/",
                self.admin_site.admin_view(self.link_view),
                name="dsr_datasubjectrequest_link",
            ),
            *super().get_urls(),
        ]

    def agent_proof_view(self, request, object_id):
        """The proof of authority an agent uploaded, to whoever may see the request (logged)."""
        obj = object_or_403(self, request, object_id, permission="view")
        authority = getattr(obj, "agent", None)
        if (
            authority is None
            or not authority.proof.name
            or not authority.proof.storage.exists(authority.proof.name)
        ):
            raise Http404
        record_access(
            request=request,
            action=AccessLogEntry.Action.DISCOVER,
            contact_ids=[c.pk for c in obj.contacts.all()],
        )
        return FileResponse(
            authority.proof.open("rb"),
            as_attachment=True,
            filename=f"{obj.reference}-proof{authority.proof_extension}",
        )

    def decide_view(self, request, object_id):
        obj = object_or_403(self, request, object_id, permission="change", post_only=True)
        form = DecisionForm(request.POST)
        if form.is_valid():
            data, common = (
                form.cleaned_data,
                {
                    "request": obj,
                    "actor": request.user,
                    "expected_status": form.cleaned_data["expected_status"],
                },
            )
            try:
                match data["action"]:
                    case "verify":
                        services.dsr_verify(how=data["how"], **common)
                    case "start":
                        services.dsr_start(**common)
                    case "extend":
                        services.dsr_extend(
                            until=data["until"] or obj.clock.extension_latest or obj.due_at,
                            reason=data["reason"],
                            **common,
                        )
                    case "complete":
                        services.dsr_complete(**common)
                    case "decline":
                        if request.POST.get("confirmed") != "yes":
                            return self._decline_confirmation(request, obj, data)
                        services.dsr_decline(reason=data["reason"], **common)
                    case "restrict":
                        services.dsr_restrict(**common)
                    case "jurisdiction":
                        services.dsr_jurisdiction_change(jurisdiction=data["jurisdiction"], **common)
                    case "waive":
                        if data["endpoint"] is None:
                            raise ValidationError(_("Choose the system to waive."))
                        downstream_waive(
                            request=obj, endpoint=data["endpoint"], reason=data["reason"], actor=request.user
                        )
                messages.success(request, _("Saved."))
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
        return redirect("admin:dsr_datasubjectrequest_change", obj.pk)

    def _decline_confirmation(self, request, obj, data):
        """Declining closes the request for good: a page of its own asks first (no script needed).
        A stale page or a missing reason is refused here already, before asking."""
        if obj.status != data["expected_status"]:
            raise services.Conflict(
                _("%(ref)s changed meanwhile (now “%(status)s”). Reload it and decide again.")
                % {"ref": obj.reference, "status": obj.get_status_display()}
            )
        if not (data["reason"] or "").strip():
            raise ValidationError(_("Declining needs a reason (Art. 12(4))."))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Decline %s?") % obj.reference,
            "opts": self.opts,
            "original": obj,
            "reason": data["reason"].strip(),
            "expected_status": data["expected_status"],
        }
        return TemplateResponse(request, "admin/dsr/datasubjectrequest/decline_confirm.html", context)

    def bundle_view(self, request, object_id):
        """POST: queue the build of an export bundle, then show its review page."""
        obj = object_or_403(self, request, object_id, permission="change", post_only=True)
        try:
            bundle = bundles.bundle_create(request=obj, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("admin:dsr_datasubjectrequest_change", obj.pk)
        messages.info(request, _("The export is being built; this page shows its progress."))
        return redirect("admin:dsr_exportbundle_change", bundle.pk)

    def erase_view(self, request, object_id):
        """GET: what the erasure will delete, anonymise and keep. POST: erase, after this review."""
        obj = object_or_403(self, request, object_id, permission="change")
        if request.method == "POST":
            try:
                record = services.dsr_erase(
                    request=obj, actor=request.user, expected_status=request.POST.get("expected_status")
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                record.refresh_from_db()
                if record.residue_clean:
                    messages.success(request, _("Erased. The residue scan found nothing left."))
                elif record.residue_clean is None:
                    messages.success(
                        request,
                        _(
                            "Erased. The residue scan of every table and file runs in a worker; "
                            "its verdict appears below when it ends."
                        ),
                    )
                else:
                    messages.warning(request, _("Erased, but the residue scan found data left: see below."))
            return redirect("admin:dsr_datasubjectrequest_change", obj.pk)
        contacts = list(obj.contacts.all())
        # Logged before the preview is computed: this look is one of the access records it counts.
        record_access(
            request=request, action=AccessLogEntry.Action.DISCOVER, contact_ids=[c.pk for c in contacts]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase the data of %s's requester?") % obj.reference,
            "opts": self.opts,
            "original": obj,
            "contacts": contacts,
            "preview": erasure_preview(contacts=contacts, actor=request.user, request=obj),
        }
        return TemplateResponse(request, "admin/dsr/datasubjectrequest/erase.html", context)

    def discover_view(self, request, object_id):
        obj = object_or_403(self, request, object_id, permission="view")
        term = request.GET.get("q", "").strip()
        contacts = list(find_contacts(term)[:50]) if term else list(obj.contacts.all())
        title = _("Data held about the requester of %s") % obj.reference
        return self._findings_page(request, obj, contacts, title, "discover.html", term=term)

    def link_view(self, request, object_id):
        """POST: link contacts found by a search (another address, a phone number, a name) to the
        request; officers only (change permission), and logged like the search that found them."""
        obj = object_or_403(self, request, object_id, permission="change", post_only=True)
        from contacts.models import Contact

        ids = [pk for v in request.POST.getlist("contact") if (pk := parse_id(v)) is not None]
        contacts = list(Contact.objects.filter(pk__in=ids))
        try:
            if len(contacts) != len(set(ids)):
                raise ValidationError(_("A contact was erased or merged meanwhile. Search again."))
            linked = services.dsr_link_contacts(
                request=obj,
                contacts=contacts,
                actor=request.user,
                expected_status=request.POST.get("expected_status"),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("admin:dsr_datasubjectrequest_discover", obj.pk)
        record_access(
            request=request, action=AccessLogEntry.Action.DISCOVER, contact_ids=[c.pk for c in contacts]
        )
        messages.success(request, _("%d contacts linked to the request.") % linked)
        return redirect("admin:dsr_datasubjectrequest_change", obj.pk)

    def _findings_page(self, request, obj, contacts, title, template, **extra):
        """Where these contacts' data is, per registered model; looking is logged as a discovery."""
        record_access(
            request=request, action=AccessLogEntry.Action.DISCOVER, contact_ids=[c.pk for c in contacts]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "original": obj,
            "contacts": contacts,
            "linked": set(obj.contacts.values_list("pk", flat=True)),
            "may_link": obj.is_open and self.has_change_permission(request, obj),
            "findings": discover(contacts),
            **extra,
        }
        return TemplateResponse(request, f"admin/dsr/datasubjectrequest/{template}", context)
