"""Admin pages of the consent app that are not a model's list or form."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from consent import dashboard
from consent.audit_chain import verify
from consent.levels import ConsentLevel


def _allowed(request) -> None:
    if not request.user.has_perm("consent.view_dashboard"):
        raise PermissionDenied


def compliance_dashboard(request):
    _allowed(request)
    context = {
        **admin.site.each_context(request),
        "title": "Compliance dashboard",
        "levels": dashboard.level_distribution(),
        "level_names": [f"{level.value} {level.label}" for level in ConsentLevel],
        "trend": dashboard.level_trend(),
        "purposes": dashboard.purpose_rates(),
        "doi": dashboard.double_opt_in(),
    }
    return TemplateResponse(request, "admin/consent/dashboard.html", context)


@require_POST
def verify_trail(request):
    _allowed(request)
    result = verify()
    if result.ok:
        messages.success(request, f"Audit trail intact: {result.checked} records; chain head {result.head}.")
    else:
        where = f"record #{result.first_bad_id}" if result.first_bad_id else "the end of the chain"
        messages.error(request, f"Audit trail broken at {where}: {result.problem}.")
    return redirect("consent-dashboard")
