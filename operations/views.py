"""Health endpoints for load balancers and orchestrators, the officers' health page, metrics."""

import hmac

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from operations.health import run_checks
from operations.metrics import exposition


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
    if not request.user.has_perm("core.view_dashboard"):
        raise PermissionDenied
    context = {**admin.site.each_context(request), "title": "System health", "results": run_checks()}
    return TemplateResponse(request, "admin/operations/health.html", context)


@never_cache
def metrics(request):
    """Prometheus scrape endpoint, behind METRICS_TOKEN (absent: the endpoint does not exist)."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(offered.encode(), token.encode()):
        response = HttpResponse("A valid token is needed.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
