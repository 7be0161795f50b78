"""Health endpoints for load balancers and orchestrators, and the officers' health page."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache

from operations.health import run_checks


@never_cache
def live(request):
    """The process answers: no database, no detail (a failing database must not restart web)."""
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
def ready(request):
    """503 while any check fails. The public sees only which checks fail, never why: the reasons
    name hosts and files (officers read them in the admin, operators from `manage.py health`)."""
    results = run_checks()
    failing = [r.name for r in results if not r.ok]
    body = {"status": "unavailable" if failing else "ready", "failing": failing}
    return JsonResponse(body, status=503 if failing else 200)


def health_page(request):
    if not request.user.has_perm("consent.view_dashboard"):
        raise PermissionDenied
    context = {**admin.site.each_context(request), "title": "System health", "results": run_checks()}
    return TemplateResponse(request, "admin/operations/health.html", context)
