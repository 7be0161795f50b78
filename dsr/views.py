"""Public pages for data subject requests: the request form and the address confirmation."""

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from config.security import rate_limited
from dsr import intake
from dsr.forms import RequestForm

STATUS_CODES = {"confirmed": 200, "already": 200, "pending": 200, "expired": 410, "invalid": 400}


@rate_limited("dsr-request", per_minute=5)
@require_http_methods(["GET", "POST"])
def request_form(request):
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        intake.submission_create(**form.cleaned_data)
        # The same page whoever the address belongs to, known, unknown or erased: no enumeration.
        return render(request, "dsr/request_sent.html")
    return render(request, "dsr/request_form.html", {"form": form})


@rate_limited("dsr-confirm", per_minute=20)
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET shows a button (mail scanners only GET); the POST confirms."""
    outcome = (
        intake.submission_confirm(link=token) if request.method == "POST" else intake.submission_find(token)
    )
    return render(
        request, "dsr/request_confirm.html", {"outcome": outcome}, status=STATUS_CODES[outcome.status]
    )
