"""Public pages for data subject requests: the request form, the address confirmation, the
download of an export and the requester's status page."""

from functools import wraps

from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from core.languages import person_language_activate, request_language
from core.models import ComplianceSettings
from core.security import rate_limited
from dsr import agents, bundles, intake, status_links
from dsr.forms import CountryForm, RequestForm
from dsr.jurisdictions import period_text

STATUS_CODES = {"confirmed": 200, "already": 200, "pending": 200, "expired": 410, "invalid": 400}


def offered(view):
    """New requests only while the data-protection tools are shown (compliance settings); else a
    404 that says so. A request already made keeps its status page and download."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not ComplianceSettings.data_protection_tools_shown():
            return render(request, "dsr/not_offered.html", status=404)
        return view(request, *args, **kwargs)

    return wrapper


@offered
@rate_limited("dsr-request", per_minute=5)
@require_http_methods(["GET", "POST"])
def request_form(request):
    # The country picks the law (dsr.jurisdictions), and the law the rights offered: chosen first
    # (a GET form, no script needed), then carried along in the request form.
    source = request.POST if request.method == "POST" else request.GET
    country, law = CountryForm.law_of(source.get("country", ""))
    form = RequestForm(request.POST or None, request.FILES or None, law=law, initial={"country": country})
    if request.method == "POST" and form.is_valid() and form.cleaned_data.get("agent"):
        data = {
            k: v for k, v in form.cleaned_data.items() if k not in ("country", "agent", "proof_extension")
        }
        agents.agent_request_submit(**data, language=request_language(request), jurisdiction=law.code)
        # The same page whoever the person is: no enumeration.
        return render(request, "dsr/request_agent_sent.html")
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("country", *RequestForm.AGENT_FIELDS)}
        data.pop("proof_extension", None)
        intake.request_submit(**data, language=request_language(request), jurisdiction=law.code)
        # The same page whoever the address or number belongs to, known, unknown or erased: no
        # enumeration. Which page depends only on what was typed (an address, or a number only).
        if form.cleaned_data["email"]:
            return render(request, "dsr/request_sent.html")
        return render(request, "dsr/request_phone.html", {"answer_within": period_text(law.answer)})
    context = {
        "form": form,
        "country_form": CountryForm(initial={"country": country}),
        "law": law,
        "answer_within": period_text(law.answer),
    }
    return render(request, "dsr/request_form.html", context)


@offered
@rate_limited("dsr-confirm", per_minute=20)
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET shows a button (mail scanners only GET); the POST confirms."""
    outcome = (
        intake.submission_confirm(link=token) if request.method == "POST" else intake.submission_find(token)
    )
    if outcome.submission is not None:  # the link's page in the language the request was made in
        person_language_activate(request, outcome.submission.language)
    return render(
        request, "dsr/request_confirm.html", {"outcome": outcome}, status=STATUS_CODES[outcome.status]
    )


@offered
@rate_limited("dsr-agent", per_minute=20)
@require_http_methods(["GET", "POST"])
def agent_confirm(request, token):
    """The person a request was made for answers whether the agent acts for them. GET shows the
    question (mail scanners only GET); the POST answers, once."""
    if request.method == "POST":
        outcome = agents.agent_answer(link=token, confirmed=request.POST.get("answer") == "yes")
    else:
        outcome = agents.agent_find(token)
    if outcome.authority is not None:
        person_language_activate(
            request, next(filter(None, outcome.authority.request.person_languages()), "")
        )
    status = {"invalid": 400, "expired": 410}.get(outcome.status, 200)
    return render(request, "dsr/agent_confirm.html", {"outcome": outcome}, status=status)


@rate_limited("dsr-download", per_minute=10, methods=("GET", "POST"))
@require_http_methods(["GET", "POST"])
def download(request, token):
    """GET shows a button, POST sends the file: a link scanner's GET uses up no download."""
    try:
        bundle = bundles.bundle_find(token)
        person_language_activate(request, next(filter(None, bundle.request.person_languages()), ""))
        if request.method == "GET":
            return render(request, "dsr/download.html", {"bundle": bundle})
        path = bundles.bundle_download(bundle=bundle)
    except ValidationError as error:
        status = {"invalid": 400, "expired": 410, "used": 410, "revoked": 410}[error.code]
        return render(request, "dsr/download.html", {"error": error.messages[0]}, status=status)
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


@never_cache  # no-store: the next user of a shared browser finds nothing in its cache or history
@rate_limited("dsr-status", per_minute=20, methods=("GET", "HEAD"))
@require_safe
def status(request, token):
    """The requester's view of their request; one answer for every link that does not work."""
    facts = status_links.status_of(token)
    response = render(request, "dsr/request_status.html", {"facts": facts}, status=200 if facts else 404)
    # The token is in the path: no page it links to (ours included) learns it from a Referer.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
