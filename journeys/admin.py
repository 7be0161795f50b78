from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from contacts.selectors import rows_visible_to
from core.history_admin import FieldHistoryAdminMixin
from core.models import ComplianceSettings
from core.progress import job_progress, progress_html, progress_response
from journeys import services
from journeys.builder import CONTACT_FIELDS, COUNTRIES, KIND_OPS, RuleBuilder, rules_to_rows
from journeys.emails import preview as journey_email_preview
from journeys.models import (
    EmailTemplate,
    Enrolment,
    Journey,
    JourneyStep,
    JourneyTask,
    Score,
    ScoringModel,
    ScoringRule,
    Segment,
    SegmentExport,
    StepRun,
)
from journeys.selectors import journey_reach, journeys_sends_proved, segment_members
from staff.access_log import record_access
from staff.admin_tools import (
    JSON_FORMFIELD_OVERRIDES,
    CappedCountPaginator,
    LevelWordsMixin,
    ReadOnlyAdminMixin,
    adopt_saved,
    object_or_403,
)
from staff.models import AccessLogEntry

PREVIEW_SIZE = 20


class JSONTextarea(forms.Textarea):
    def __init__(self):
        super().__init__(attrs={"rows": 8, "cols": 90, "style": "font-family: monospace"})


HOLD_BUTTONS = ("_addrow", "_refresh")  # builder buttons that redraw the form without saving


class SegmentForm(forms.ModelForm):
    """The segment's name and description, and its rules from the builder's rows (or as JSON when
    the builder cannot draw them, or for a reader who may not change them)."""

    builder_on = False  # set by SegmentAdmin.get_form

    class Meta:
        model = Segment
        fields = ("name", "description", "rules")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.holding = None
        if not self.builder_on:
            return
        if self.is_bound:
            self.holding = next((key for key in HOLD_BUTTONS if key in self.data), None)
        self.builder = RuleBuilder(
            self.data if self.is_bound else None,
            rules=self.instance.rules if self.instance.pk else None,
            add_row=self.holding == "_addrow",
        )

    def clean(self):
        data = super().clean()
        if not self.builder_on:
            return data
        if self.builder.is_valid():
            data["rules"] = self.instance.rules = self.builder.rules
        else:
            self.add_error(None, "Some rules need attention: see the messages beside them.")
        if self.holding:
            raise ValidationError("Not saved yet.", code="held")
        return data

    def live(self) -> dict | None:
        """Count and first members for the rules as they stand in the form (None: not valid yet)."""
        if self.is_bound:
            rules = self.builder.rules if self.builder.is_valid() else None
        else:
            rules = self.instance.rules if self.instance.pk else None
        return segment_live(rules) if rules else None


def segment_live(rules: dict) -> dict:
    """What the segment's rules select, through the engine and the eligibility selector as saved
    segments are counted: eligible members (level 0: everyone not restricted), and the first few."""
    draft = Segment(rules=rules)
    count = services.segment_member_count(segment=draft)
    cap = settings.ADMIN_LIST_COUNT_CAP
    members = segment_members(segment=draft).order_by("pk")[:PREVIEW_SIZE]
    return {
        "count": count if count <= cap else None,
        "count_text": f"more than {cap}" if count > cap else str(count),
        "members": [
            {
                "url": reverse("admin:contacts_contact_change", args=[c.pk]),
                "name": str(c),
                "email": c.email,
                "country": c.country or "—",
                "level": f"{c.consent_given} {c.get_consent_given_display()}",
            }
            for c in members
        ],
    }


RULES_HELP = (
    'A condition or a group. Groups: {"all": [...]} or {"any": [...]}. Contact fields: '
    '{"field": "country", "op": "eq", "value": "DE"} (eq, ne, contains, startswith, in); '
    '{"field": "consent_level", "op": "gte", "value": 4} (0 None to 5 Profiling; eq, ne, gte, lte, gt, '
    "lt); email, first_name, last_name as text; created_at with before/after/on and YYYY-MM-DD; "
    'tracking_allowed eq true/false. Consent options by key: {"purpose": "newsletter", "value": true} '
    '(false: said no, null: no answer). Lists by key: {"list": "news", "status": "subscribed"} '
    "(or pending, unsubscribed)."
)


@admin.register(Segment)
class SegmentAdmin(FieldHistoryAdminMixin, admin.ModelAdmin):
    form = SegmentForm
    formfield_overrides = JSON_FORMFIELD_OVERRIDES
    list_display = ("name", "member_count", "description")
    search_fields = ("name",)
    readonly_fields = ("member_count", "preview")
    actions = ["export_xlsx", "export_csv"]
    change_form_template = "admin/journeys/segment/change_form.html"

    def _builder_on(self, request, obj) -> bool:
        """The builder for whoever may change the segment and whose rules it can draw exactly."""
        may_edit = (
            self.has_add_permission(request) if obj is None else self.has_change_permission(request, obj)
        )
        posted_json = request.method == "POST" and "row-TOTAL_FORMS" not in request.POST
        if request.GET.get("json") == "1" or posted_json:
            return False  # the JSON editor, asked for (?json=1) or posted by a script
        return may_edit and (obj is None or rules_to_rows(obj.rules) is not None)

    def get_fields(self, request, obj=None):
        if self._builder_on(request, obj):
            return ["name", "description"]
        return ["name", "description", "rules", "member_count", "preview"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["widgets"] = {"rules": JSONTextarea()}
        form = super().get_form(request, obj, change=change, **kwargs)
        form.builder_on = self._builder_on(request, obj)
        if "rules" in form.base_fields:
            form.base_fields["rules"].help_text = RULES_HELP
        return form

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        if getattr(form, "holding", None):
            context["errors"] = []  # a redraw for another row or a fresh count is not a failed save
        if not form.builder_on and request.GET.get("json") == "1":
            # Back to the rows, unless the saved rules are a shape they cannot draw.
            context["builder_link"] = obj is None or rules_to_rows(obj.rules) is not None
        if form.builder_on:
            context["builder"] = form.builder
            context["live"] = form.live()
            context["countries"] = COUNTRIES
            context["kinds"] = {key: kind for key, (_label, kind) in CONTACT_FIELDS.items()}
            context["kind_ops"] = {kind: list(ops) for kind, ops in KIND_OPS.items()}
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        view = self.admin_site.admin_view(self.builder_preview_view)
        return [path("builder/preview/", view, name="journeys_segment_builder_preview"), *super().get_urls()]

    def builder_preview_view(self, request):
        """The builder's live count and preview as JSON, for the rows as they stand (POST: the
        rows can hold addresses, which stay out of URLs and logs)."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        if request.method != "POST":
            return JsonResponse({"error": "POST the builder's rows."}, status=405)
        builder = RuleBuilder(request.POST)
        if not builder.is_valid():
            return JsonResponse(
                {"ok": False, "row_errors": builder.row_errors(), "errors": builder.general_errors()}
            )
        return JsonResponse({"ok": True, "rules": builder.rules, **segment_live(builder.rules)})

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("journeys.export_segment")

    @admin.display(description=_("members (eligible)"))
    def member_count(self, segment):
        if segment.pk is None:
            return "—"
        count = services.segment_member_count(segment=segment)
        cap = settings.ADMIN_LIST_COUNT_CAP
        return _("more than %(cap)s") % {"cap": cap} if count > cap else count

    @admin.display(description=_("preview"))
    def preview(self, segment):
        if segment.pk is None:
            return _("Save the segment to see its members.")
        members = segment_members(segment=segment).order_by("pk")[:PREVIEW_SIZE]
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:contacts_contact_change", args=[c.pk]),
                    c,
                    c.email,
                    c.country or "—",
                    f"{c.consent_given} {c.get_consent_given_display()}",
                )
                for c in members
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>"
            "<p>{}</p>",
            _("name"),
            _("email"),
            _("country"),
            _("consent"),
            rows or format_html("<tr><td colspan=4>{}</td></tr>", _("Nobody yet.")),
            _("The first %(n)s members who may be processed (restricted contacts are never shown).")
            % {"n": PREVIEW_SIZE},
        )

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ("name", "description", "rules")}
        if change:
            saved = services.segment_update(segment=obj, actor=request.user, **data)
        else:
            saved = services.segment_create(actor=request.user, **data)
        adopt_saved(obj, saved)

    def _export(self, request, queryset, format):
        for segment in queryset:
            services.segment_export_start(segment=segment, user=request.user, format=format)
            ids = segment_members(segment=segment).order_by().values_list("pk", flat=True)
            record_access(
                request=request, action=AccessLogEntry.Action.EXPORT_CONTACTS, contact_ids=ids.iterator()
            )
            self.message_user(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    _("Export of “%s” started.") % segment,
                    reverse("admin:journeys_segmentexport_changelist"),
                    _("Follow its progress"),
                ),
                messages.SUCCESS,
            )

    @admin.action(description=_("Export members to Excel (a job)"), permissions=["export"])
    def export_xlsx(self, request, queryset):
        self._export(request, queryset, SegmentExport.Format.XLSX)

    @admin.action(description=_("Export members to CSV (a job)"), permissions=["export"])
    def export_csv(self, request, queryset):
        self._export(request, queryset, SegmentExport.Format.CSV)


@admin.register(SegmentExport)
class SegmentExportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("segment", "format", "status", "progress_bar", "requested_by", "requested_at", "download")
    list_filter = ("status",)
    list_select_related = ("segment", "requested_by")
    exclude = ("file",)
    fields = (
        "segment",
        "format",
        "status",
        "progress_bar",
        "requested_by",
        "requested_at",
        "finished_at",
        "error",
        "download",
    )
    readonly_fields = fields

    class Media:
        css = {"all": ("css/officer.css",)}
        js = ("js/job-progress.js",)  # keeps the bars of running exports moving

    @staticmethod
    def job_progress(export):
        return job_progress(
            status=export.status,
            label=export.get_status_display(),
            running=export.status in (SegmentExport.Status.QUEUED, SegmentExport.Status.RUNNING),
            done=export.written,
            total=export.total,
            started_at=export.requested_at,
        )

    @admin.display(description=_("progress"))
    def progress_bar(self, export):
        url = reverse("admin:journeys_segmentexport_progress", args=[export.pk])
        return progress_html(self.job_progress(export), url)

    def progress_view(self, request, object_id):
        """The export's progress as JSON for job-progress.js; whoever may see the export may see this."""
        return progress_response(
            self.job_progress(object_or_403(self, request, object_id, permission="view"))
        )

    @admin.display(description=_("file"))
    def download(self, export):
        if export.status != SegmentExport.Status.DONE:
            return export.error[:100] or "—"
        url = reverse("admin:journeys_segmentexport_download", args=[export.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))

    def get_urls(self):
        view = self.admin_site.admin_view(self.download_view)
        progress = self.admin_site.admin_view(self.progress_view)
        return [
            path("<int:pk>/download/", view, name="journeys_segmentexport_download"),
            path("<path:object_id>/progress/", progress, name="journeys_segmentexport_progress"),
            *super().get_urls(),
        ]

    def download_view(self, request, pk):
        if not (self.has_view_permission(request) and request.user.has_perm("journeys.export_segment")):
            raise PermissionDenied
        export = SegmentExport.objects.filter(pk=pk).first()
        path_ = services.segment_export_path(export) if export else None
        if path_ is None:
            raise Http404
        return FileResponse(path_.open("rb"), as_attachment=True, filename=path_.name)


@admin.register(EmailTemplate)
class EmailTemplateAdmin(FieldHistoryAdminMixin, admin.ModelAdmin):
    list_display = ("name", "subject")
    search_fields = ("name", "subject")
    readonly_fields = ("preview",)

    @admin.display(description=_("preview (for a contact named Ada Lovelace)"))
    def preview(self, obj):
        if obj is None or not obj.pk:
            return _("Shown once the template is saved (saving checks it renders).")
        subject, text, _html = journey_email_preview(obj)
        return format_html("<strong>{}</strong><pre>{}</pre>", subject, text)


class JourneyStepInline(admin.TabularInline):
    model = JourneyStep
    extra = 0
    fields = ("position", "kind", "template", "wait_days", "task_title", "task_user", "task_group")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # No add/change/delete/view icons beside each row's selects: seven columns then fit at
        # 1280 px, and templates, users and groups are edited on their own pages.
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(getattr(field, "widget", None), RelatedFieldWidgetWrapper):
            widget = field.widget
            widget.can_add_related = widget.can_change_related = False
            widget.can_delete_related = widget.can_view_related = False
        return field

    def _draft(self, obj) -> bool:
        return obj is None or obj.status == Journey.Status.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


def _reach(n: int, cap: int) -> str:
    return f"more than {cap}" if n > cap else str(n)


def lifecycle_buttons(journey: Journey) -> list[dict]:
    """The journey's next possible steps, each saying what it does and whom it reaches (counted by
    journeys.selectors.journey_reach, i.e. through the eligibility selector)."""
    reach = journey_reach(journey)
    to_enrol, active = _reach(reach["to_enrol"], reach["cap"]), _reach(reach["in_journey"], reach["cap"])
    status, buttons = journey.status, []
    if status == Journey.Status.DRAFT:
        buttons.append(
            {
                "action": "go-live",
                "label": "Go live",
                "explains": f"Enrols the {to_enrol} contacts who may be processed now (segment members "
                "meeting the journey's minimum consent, purpose and list) and whoever qualifies later; "
                "the next run sends them the first step. Steps can no longer be changed.",
            }
        )
    if status == Journey.Status.LIVE:
        buttons.append(
            {
                "action": "pause",
                "label": "Pause",
                "explains": f"Holds the journey: the {active} contacts in it get nothing until it "
                f"resumes, and the {to_enrol} who may be processed but are not yet enrolled wait too. "
                "Everyone keeps their place.",
            }
        )
    if status == Journey.Status.PAUSED:
        buttons.append(
            {
                "action": "resume",
                "label": "Resume",
                "explains": f"The {active} contacts in it continue where they stopped; {to_enrol} "
                "more who may be processed now are enrolled at the next run.",
            }
        )
    if status in (Journey.Status.DRAFT, Journey.Status.LIVE, Journey.Status.PAUSED):
        buttons.append(
            {
                "action": "end",
                "label": "End",
                "danger": True,
                "explains": f"Ends the journey for good: the {active} contacts in it leave it and "
                "get nothing more from it, nobody is enrolled again. This cannot be undone.",
            }
        )
    return buttons


LIFECYCLE = {
    "go-live": (services.journey_go_live, "“{}” is live: the next run enrols its audience."),
    "pause": (services.journey_pause, "“{}” is paused."),
    "resume": (services.journey_resume, "“{}” is live again."),
    "end": (services.journey_stop, "“{}” has ended; nobody gets anything more from it."),
}


@admin.register(Journey)
class JourneyAdmin(LevelWordsMixin, FieldHistoryAdminMixin, admin.ModelAdmin):
    list_display = ("name", "segment", "status", "min_level_shown", "enrolled", "in_journey")
    list_filter = ("status",)
    list_select_related = ("segment",)
    search_fields = ("name",)
    inlines = [JourneyStepInline]
    history_children = (("steps", JourneyStep, "journey"),)
    actions = ["go_live", "stop"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                enrolled_count=Count("enrolments"),
                active_count=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.ACTIVE)),
            )
        )

    @admin.display(description=_("enrolled"), ordering="enrolled_count")
    def enrolled(self, journey):
        return journey.enrolled_count

    @admin.display(description=_("in the journey now"), ordering="active_count")
    def in_journey(self, journey):
        return journey.active_count

    def get_fields(self, request, obj=None):
        return [
            "name",
            "segment",
            "purpose",
            "subscription_list",
            "min_level",
            "enrol_until",
            "status",
            "went_live_at",
            "stopped_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["status", "went_live_at", "stopped_at"]
        # Without the compliance switch every journey uses Marketing; a live journey keeps its minimum.
        if not ComplianceSettings.load().min_consent_level_selection_enabled or (
            obj is not None and obj.status != Journey.Status.DRAFT
        ):
            readonly.append("min_level")
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "min_level" in getattr(form, "base_fields", {}):
            form.base_fields["min_level"].help_text = _("Cannot be changed once the journey is live.")
        return form

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name] for name in services.JOURNEY_FIELDS if name in form.cleaned_data
        }
        if change:
            saved = services.journey_update(journey=obj, actor=request.user, **data)
        else:
            saved = services.journey_create(actor=request.user, **data)
        adopt_saved(obj, saved)  # the service sets the minimum level and the status

    change_form_template = "admin/journeys/journey/change_form.html"

    class Media:
        css = {"all": ["journeys/journey_admin.css"]}

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk and self.has_change_permission(request, obj):
            context["lifecycle"] = [
                {
                    **button,
                    "url": reverse("admin:journeys_journey_lifecycle", args=[obj.pk, button["action"]]),
                }
                for button in lifecycle_buttons(obj)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        view = self.admin_site.admin_view(self.lifecycle_view)
        route = path("<int:pk>/lifecycle/<slug:action>/", view, name="journeys_journey_lifecycle")
        return [route, *super().get_urls()]

    def lifecycle_view(self, request, pk, action):
        """Go live, pause, resume or end one journey from its own page (POST; ending asks first)."""
        journey = Journey.objects.filter(pk=pk).first()
        if journey is None or action not in LIFECYCLE:
            raise Http404
        if not self.has_change_permission(request, journey):
            raise PermissionDenied
        change_url = reverse("admin:journeys_journey_change", args=[journey.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        if action == "end" and request.POST.get("confirm") != "yes":
            button = next((b for b in lifecycle_buttons(journey) if b["action"] == "end"), None)
            if button is None:
                self.message_user(request, f"“{journey}” has already ended.", messages.WARNING)
                return HttpResponseRedirect(change_url)
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "journey": journey,
                "button": button,
                "change_url": change_url,
                "title": f"End “{journey}”?",
            }
            return TemplateResponse(request, "admin/journeys/journey/confirm_end.html", context)
        service, done = LIFECYCLE[action]
        try:
            service(journey=journey, actor=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, done.format(journey), messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def get_deleted_objects(self, objs, request):
        # The delete page and the bulk action both ask here: a journey whose emails went out is
        # refused in one sentence (SendConsent.step_run is PROTECT), not a list of every send.
        sends = journeys_sends_proved(objs)
        if sends:
            refused = [
                f"“{journey}”: the consent relied on by {sends[journey.pk]} email(s) it sent, kept as "
                "proof (GDPR Art. 7(1)). A journey that has sent email cannot be deleted: end it "
                "instead, and it stays as the record of what was sent."
                for journey in objs
                if journey.pk in sends
            ]
            return [], {}, set(), refused
        return super().get_deleted_objects(objs, request)

    @admin.action(description=_("Go live"), permissions=["change"])
    def go_live(self, request, queryset):
        for journey in queryset:
            try:
                services.journey_go_live(journey=journey, actor=request.user)
            except ValidationError as error:
                self.message_user(request, f"{journey}: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, _("“%s” is live.") % journey, messages.SUCCESS)

    @admin.action(description=_("Stop"), permissions=["change"])
    def stop(self, request, queryset):
        for journey in queryset:
            services.journey_stop(journey=journey, actor=request.user)
            self.message_user(request, _("“%s” is stopped; nobody gets anything more from it.") % journey)


class StepRunInline(ReadOnlyAdminMixin, admin.TabularInline):
    """What happened to each step of the enrolment, including a mail whose worker died while
    sending it: recorded as interrupted and never repeated, so an officer can answer "did Holly
    get it?" honestly."""

    model = StepRun
    fields = readonly_fields = ("step", "status", "claimed_at", "done_at")
    ordering = ("step__position",)
    extra = 0


class InterruptedSendFilter(admin.SimpleListFilter):
    title = _("interrupted sending")
    parameter_name = "interrupted"

    def lookups(self, request, model_admin):
        return [("yes", _("a mail may or may not have gone out"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(step_runs__status=StepRun.Status.UNCERTAIN).distinct()
        return queryset


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "journey",
        "contact",
        "status",
        "exit_reason",
        "exit_detail",
        "next_position",
        "due_at",
        "enrolled_at",
    )
    list_filter = ("status", "exit_reason", "journey", InterruptedSendFilter)
    inlines = [StepRunInline]
    list_select_related = ("journey", "contact")
    paginator = CappedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        # Restricted contacts (GDPR Art. 18) reach only the roles that handle restrictions.
        return rows_visible_to(request.user, super().get_queryset(request))


@admin.register(JourneyTask)
class JourneyTaskAdmin(admin.ModelAdmin):
    list_display = ("title", "contact", "journey", "assigned_user", "assigned_group", "created_at", "done")
    list_filter = ("done", "journey", "assigned_group")
    list_select_related = ("contact", "journey", "assigned_user", "assigned_group")
    fields = ("title", "contact", "journey", "assigned_user", "assigned_group", "created_at", "done")
    readonly_fields = ("title", "contact", "journey", "assigned_user", "assigned_group", "created_at")
    paginator = CappedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        # Restricted contacts (GDPR Art. 18) reach only the roles that handle restrictions.
        return rows_visible_to(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return False  # journeys create tasks

    def has_delete_permission(self, request, obj=None):
        return False


class ScoringRuleInline(admin.TabularInline):
    formfield_overrides = JSON_FORMFIELD_OVERRIDES
    model = ScoringRule
    extra = 0
    fields = ("points", "condition", "interaction", "within_days")


@admin.register(ScoringModel)
class ScoringModelAdmin(LevelWordsMixin, FieldHistoryAdminMixin, admin.ModelAdmin):
    list_display = ("name", "min_level_shown", "active", "scored")
    inlines = [ScoringRuleInline]
    history_children = (("rules", ScoringRule, "model"),)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(scored_count=Count("scores"))

    @admin.display(description=_("contacts scored"), ordering="scored_count")
    def scored(self, model):
        return model.scored_count


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("contact", "model", "score", "computed_at")
    list_filter = ("model",)
    list_select_related = ("contact", "model")
    paginator = CappedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        # Restricted contacts (GDPR Art. 18) reach only the roles that handle restrictions.
        return rows_visible_to(request.user, super().get_queryset(request))
