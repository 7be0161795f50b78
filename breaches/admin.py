"""The breach register in the back office: officers record and notify; auditors read and export."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from breaches import exports, services
from breaches.clock import breach_clock
from breaches.models import Breach, BreachNotice
from core.history_admin import FieldHistoryAdminMixin
from core.models import ComplianceSettings
from staff.access_log import record_access
from staff.admin_tools import ReadOnlyAdminMixin, XlsxExportMixin, adopt_saved, object_or_403
from staff.models import AccessLogEntry


@admin.register(Breach)
class BreachAdmin(XlsxExportMixin, FieldHistoryAdminMixin, admin.ModelAdmin):
    # The whole register (Art. 33(5)), for whoever may read it; it names nobody.
    export_permission = "breaches.view_breach"
    export_title = "Breach register"
    list_display = (
        "reference_shown",
        "summary",
        "discovered_at",
        "clock_shown",
        "risk",
        "authority_notified_at",
        "people_notified_at",
    )
    list_filter = ("risk",)
    search_fields = ("summary",)
    date_hierarchy = "discovered_at"
    readonly_fields = ("clock_shown", "tools")
    fieldsets = (
        (
            "The breach (GDPR Art. 33(3))",
            {
                "fields": (
                    "summary",
                    "discovered_at",
                    "occurred_at",
                    "nature",
                    "people_categories",
                    "people_count",
                    "data_categories",
                    "records_count",
                )
            },
        ),
        ("Effects and action", {"fields": ("consequences", "measures", "dpo_contact", "risk")}),
        (
            "The supervisory authority (72 hours from discovery)",
            {"fields": ("clock_shown", "authority_notified_at", "authority_reference", "delay_reasons")},
        ),
        (
            "The people affected (Art. 34)",
            {
                "fields": (
                    "affected_list",
                    "affected_purpose",
                    "affected_source",
                    "affected_created_from",
                    "affected_created_to",
                    "people_notice",
                    "people_notified_at",
                    "tools",
                )
            },
        ),
    )

    def export_header(self, request):
        return exports.register_header()

    def export_rows(self, request, queryset):
        return exports.register_rows(queryset)

    def get_changeform_initial_data(self, request):
        # The contact point the organisation gave once (compliance settings), and "now".
        return {
            "dpo_contact": ComplianceSettings.load().dpo_contact,
            "discovered_at": timezone.now(),
            **super().get_changeform_initial_data(request),
        }

    def save_model(self, request, obj, form, change):
        adopt_saved(obj, services.breach_save(breach=obj, actor=request.user))

    def has_delete_permission(self, request, obj=None):
        return False  # the register documents every breach for good (Art. 33(5))

    @admin.display(description="Reference", ordering="pk")
    def reference_shown(self, obj):
        return obj.reference

    @admin.display(description="72-hour clock")
    def clock_shown(self, obj):
        if obj is None or obj.pk is None:
            return "Starts at discovery."
        clock = breach_clock(obj)
        due = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M")
        style = "color:#ba2121;font-weight:bold" if clock.alarming else ""
        return format_html('<span style="{}">{}</span> (deadline {})', style, clock.text, due)

    @admin.display(description="Notify and export")
    def tools(self, obj):
        if obj is None or obj.pk is None:
            return "Save the breach first."
        links = [
            ("admin:breaches_breach_people", "Preview the people affected (and notify them)"),
            ("admin:breaches_breach_authority_xlsx", "Export for the authority (XLSX)"),
            ("admin:breaches_breach_authority_pdf", "Export for the authority (PDF)"),
        ]
        return format_html_join(
            " · ", '<a href="{}">{}</a>', ((reverse(n, args=[obj.pk]), t) for n, t in links)
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/people/", view(self.people_view), name="breaches_breach_people"),
            path(
                "<path:object_id>/authority.xlsx", view(self.xlsx_view), name="breaches_breach_authority_xlsx"
            ),
            path("<path:object_id>/authority.pdf", view(self.pdf_view), name="breaches_breach_authority_pdf"),
            *super().get_urls(),
        ]

    def people_view(self, request, object_id):
        """GET (who may view): who the notice would reach, counts and a sample. POST (who may
        change): notify exactly the previewed count."""
        posted = request.method == "POST"
        obj = object_or_403(self, request, object_id, permission="change" if posted else "view")
        if posted:
            try:
                expected = int(request.POST.get("expected", ""))
                created = services.breach_notify_people(breach=obj, expected=expected, actor=request.user)
            except ValueError:
                messages.error(request, "Notify from the preview: the count it shows is what is sent.")
                return redirect("admin:breaches_breach_people", obj.pk)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect("admin:breaches_breach_people", obj.pk)
            messages.success(request, f"{created} notices recorded; the emails are on their way.")
            return redirect("admin:breaches_breach_change", obj.pk)
        preview = services.breach_notice_preview(breach=obj)
        if preview.sample:
            record_access(
                request=request, action=AccessLogEntry.Action.VIEW, contact_ids=[c.pk for c in preview.sample]
            )
        labels = dict(BreachNotice.WITHHELD_CHOICES)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": f"People affected by {obj.reference}",
            "preview": preview,
            "withheld": [(labels.get(code, code), n) for code, n in preview.withheld.items()],
            "refusal": services.notice_refusal(obj),
            "may_notify": self.has_change_permission(request, obj),
        }
        return TemplateResponse(request, "admin/breaches/breach/people.html", context)

    def xlsx_view(self, request, object_id):
        return exports.authority_xlsx(object_or_403(self, request, object_id))

    def pdf_view(self, request, object_id):
        return exports.authority_pdf(object_or_403(self, request, object_id))


@admin.register(BreachNotice)
class BreachNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who was told of which breach, and who was not and why: written only by the notification."""

    list_display = ("breach", "contact", "email", "withheld", "sent_at")
    list_filter = ("withheld", "breach")
    list_select_related = ("breach", "contact")
    raw_id_fields = ("contact",)
