"""Public pages for people without an account. Thin: the rules live in subscriptions.services."""

import json

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from consent.receipts.serialize import contact_receipts
from contacts.models import Contact
from core.ids import parse_id
from core.languages import browser_language_activate, person_language_activate, request_language
from core.security import rate_limited
from subscriptions import services, tokens
from subscriptions.forms import SignupForm
from subscriptions.gpc import CENTER_SESSION_KEY, request_meta
from subscriptions.link_request_form import LinkRequestForm
from subscriptions.models import AccessToken, SubscriptionList
from subscriptions.privacy_mark import marks_write
from subscriptions.services import privacy_choices as choices_service
from subscriptions.services.center_read import center_contact
from subscriptions.services.leave import everything_leave, everything_leave_by_link

Confirmed = services.ConfirmationStatus
_CONFIRM_HTTP_STATUS = {
    Confirmed.CONFIRMED: 200,
    Confirmed.ALREADY: 200,
    Confirmed.EXPIRED: 410,
    Confirmed.INVALID: 400,
    Confirmed.REFUSED: 409,
}

SESSION_KEY = CENTER_SESSION_KEY
SESSION_SECONDS = 60 * 60

Resent = services.Resent
_RESENT_MESSAGES = {
    Resent.SENDING: gettext_lazy(
        "We are sending the confirmation email again, with the same link as before."
    ),
    Resent.ON_ITS_WAY: gettext_lazy(
        "That email has not left us yet and is on its way. Please check your inbox in a few minutes."
    ),
    Resent.TOO_SOON: gettext_lazy(
        "We sent that email only minutes ago, so we did not send it again yet. "
        "Please give it a few minutes to arrive, and check your spam folder."
    ),
    Resent.LIMITED: gettext_lazy(
        "We did not send it again: that address has had as many emails from us as we send in an hour. "
        "Please try again later."
    ),
    Resent.GONE: gettext_lazy("That request is no longer waiting: it was confirmed, or its link expired."),
}


_meta = request_meta


def _invalid(request, status=400):
    return render(request, "subscriptions/link_invalid.html", status=status)


@rate_limited("center-entry", per_minute=30, methods=("GET",))
def center_entry(request, token):
    """Swap the emailed link for a short session, then show the center at a URL without the token."""
    try:
        access = tokens.resolve(token, kind=AccessToken.Kind.CENTER)
    except tokens.InvalidLink:
        return _invalid(request)
    except tokens.ExpiredLink:
        return render(request, "subscriptions/link_expired.html", status=410)
    request.session.cycle_key()
    request.session[SESSION_KEY] = access.contact_id
    request.session.set_expiry(SESSION_SECONDS)
    return redirect("subscriptions:center")


def _receipt_response(contact: Contact) -> HttpResponse:
    """The person's consent receipts (ISO/IEC TS 27560, JSON-LD) as a file to keep; its name
    names no one."""
    response = HttpResponse(
        json.dumps(contact_receipts([contact.pk]), indent=2, ensure_ascii=False),
        content_type="application/ld+json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="consent-receipt.jsonld"'
    response["Cache-Control"] = "no-store"
    return response


@rate_limited("center-receipt", per_minute=30, methods=("GET",))
def center_receipt(request):
    """ "Download my consent receipt" on the center page: the visit's contact, no token in the URL."""
    contact = _center_contact(request)
    if contact is None:
        return _way_in(request, LinkRequestForm(), ended=True, status=403)
    return _receipt_response(contact)


@rate_limited("center-receipt", per_minute=30, methods=("GET",))
def center_receipt_by_link(request, token):
    """The same file straight from an emailed center link: an unknown link is 404, an expired one 410."""
    try:
        access = tokens.resolve(token, kind=AccessToken.Kind.CENTER)
    except tokens.InvalidLink:
        raise Http404 from None
    except tokens.ExpiredLink:
        return render(request, "subscriptions/link_expired.html", status=410)
    return _receipt_response(access.contact)


def _center_contact(request) -> Contact | None:
    contact = center_contact(request.session.get(SESSION_KEY))
    if contact is not None:
        person_language_activate(request, contact.language)
    return contact


def _link_person(request, token: str, kind: str) -> None:
    """The page of a personal link speaks its contact's language (core.languages); an expired
    link still names its contact, a forged one nobody."""
    try:
        access = tokens.resolve(token, kind=kind)
    except tokens.InvalidLink:
        return
    except tokens.ExpiredLink as expired:
        access = expired.token
    person = access.contact
    waiting = getattr(access, "consent_request", None) if kind == AccessToken.Kind.CONFIRM else None
    if waiting is not None and waiting.on_behalf_of_child and person.guardian_id:
        person = person.guardian  # the guardian reads and confirms a child's request
    person_language_activate(request, person.language)


def _session_over(request):
    """A center POST whose visit ended: the way in again, with the note that nothing was saved."""
    return _way_in(request, LinkRequestForm(), ended=True, status=403)


@rate_limited("center", per_minute=20)
@require_http_methods(["GET", "POST"])
def center(request):
    contact = _center_contact(request)
    if contact is None:
        # No visit under way: the way in for everyone ("email me my link"). A POST here is a center
        # form whose visit ended, hence 403 and the note that it was not saved.
        ended = request.method == "POST"
        return _way_in(request, LinkRequestForm(), ended=ended, status=403 if ended else 200)
    gpc = request.headers.get("Sec-GPC") == "1"
    if request.method == "POST" and request.POST.get("action") == "leave_everything":
        outcome = everything_leave(contact=contact, meta=_meta(request))
        return render(request, "subscriptions/left_everything.html", {"outcome": outcome})
    if request.method == "POST":
        page = services.center_submit(contact=contact, data=request.POST, meta=_meta(request), gpc=gpc)
    else:
        page = services.center_show(contact=contact, meta=_meta(request), gpc=gpc)
    if page.saved is not None:
        # A language chosen in the form is the person's choice for this answer already.
        if page.contact.language:
            person_language_activate(request, page.contact.language)
        elif page.saved.language_changed:
            browser_language_activate(request)
        context = {"outcome": page.saved, "pending": page.saved.request}
        return render(request, "subscriptions/center_saved.html", context)
    return render(request, "subscriptions/center.html", page.context())


def _way_in(request, form, *, ended=False, status=200):
    return render(request, "subscriptions/way_in.html", {"form": form, "ended": ended}, status=status)


@rate_limited("center-link", per_minute=5)
@require_http_methods(["GET", "POST"])
def center_link_request(request):
    """The "email me my link" form. One answer for every well-formed address, known, unknown or erased,
    and the same work: the lookup and the email happen in a task after the response. Per client
    the decorator answers 429 after 5 a minute (the client learns nothing about any address);
    per address the task sends at most CONFIRMATION_EMAILS_PER_ADDRESS_PER_HOUR, silently."""
    form = LinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.center_link_request(email=form.cleaned_data["email"])
        return render(request, "subscriptions/link_sent.html")
    return _way_in(request, form, status=400 if request.method == "POST" else 200)


@rate_limited("center-resend", per_minute=10)
@require_POST
def center_resend(request):
    """ "Send it again" for a raise waiting in the center: the same email, within the limits."""
    contact = _center_contact(request)
    if contact is None:
        return _session_over(request)
    request_id = request.POST.get("request", "")
    if (pk := parse_id(request_id)) is not None:
        outcome = services.consent_request_resend(contact=contact, request_id=pk)
    else:
        outcome = Resent.GONE
    messages.info(request, _RESENT_MESSAGES[outcome])
    return redirect("subscriptions:center")  # a reload of the center does not send again


@rate_limited("rejoin", per_minute=10)
@require_POST
def center_rejoin(request):
    """Undo leaving a list from the center: a new double opt-in, never a silent re-subscribe."""
    contact = _center_contact(request)
    if contact is None:
        return _session_over(request)
    result = services.center_rejoin(
        contact=contact, list_id=request.POST.get("list", ""), meta=_meta(request)
    )
    return render(request, "subscriptions/rejoin_sent.html", {"result": result, "in_center": True})


@rate_limited("confirm", per_minute=20)
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET shows what will be confirmed and a button; the POST applies it. Link scanners only GET."""
    _link_person(request, token, AccessToken.Kind.CONFIRM)
    if request.method == "POST":
        if request.POST.get("action") == "renew":
            services.consent_request_renew(link=token, meta=_meta(request))
            return render(request, "subscriptions/renewed.html")  # the same answer either way
        chosen = {pk for v in request.POST.getlist("lists") if (pk := parse_id(v)) is not None}
        offered = request.POST.get("lists_offered") == "1"
        result = services.consent_request_confirm(
            link=token, meta=_meta(request), lists=chosen if offered else None
        )
        status = _CONFIRM_HTTP_STATUS[result.status]
        return render(request, "subscriptions/confirm_result.html", {"result": result}, status=status)
    try:
        access = tokens.resolve(token, kind=AccessToken.Kind.CONFIRM)
    except tokens.InvalidLink:
        return _invalid(request)
    except tokens.ExpiredLink as expired:
        request_ = getattr(expired.token, "consent_request", None)
        done = request_ is not None and request_.confirmed_at
        return render(
            request,
            "subscriptions/confirm_result.html",
            {"result": services.Confirmation(Confirmed.ALREADY if done else Confirmed.EXPIRED, request_)},
            status=200 if done else 410,
        )
    pending = access.consent_request
    if pending.confirmed_at:
        return render(
            request,
            "subscriptions/confirm_result.html",
            {"result": services.Confirmation(Confirmed.ALREADY, pending)},
        )
    changes = {key: value for key, value in pending.changes.items() if key != "lists"}
    context = {
        "changes": services.describe(changes),
        "lists": pending.lists.all(),
        "child": pending.on_behalf_of_child,
    }
    return render(request, "subscriptions/confirm.html", context)


@rate_limited("signup", per_minute=5)
@require_http_methods(["GET", "POST"])
def signup(request, slug):
    subscription_list = get_object_or_404(SubscriptionList, slug=slug, active=True, public=True)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.signup(
            subscription_list=subscription_list,
            email=form.cleaned_data["email"],
            first_name=form.cleaned_data["first_name"],
            meta=_meta(request),
            language=request_language(request),
        )
        # The same page whether the address was known, new or undeliverable: no enumeration.
        return render(request, "subscriptions/signup_sent.html", {"list": subscription_list})
    return render(request, "subscriptions/signup.html", {"form": form, "list": subscription_list})


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without a CSRF token; the link is the key
@rate_limited("unsubscribe", per_minute=30)
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    _link_person(request, token, AccessToken.Kind.UNSUBSCRIBE)
    if request.method == "GET":
        try:
            access = tokens.resolve(token, kind=AccessToken.Kind.UNSUBSCRIBE)
        except tokens.InvalidLink:
            return _invalid(request)
        except tokens.ExpiredLink as expired:
            access = expired.token
        return render(request, "subscriptions/unsubscribe.html", {"list": access.subscription_list})
    subscription_list = services.unsubscribe(link=token)
    if subscription_list is None:
        return _invalid(request)
    context = {"list": subscription_list, "token": token, "message": _("Done.")}
    return render(request, "subscriptions/unsubscribed.html", context)


@rate_limited("rejoin", per_minute=10)
@require_POST
def unsubscribe_undo(request, token):
    """Undo a one-click unsubscribe: a new double opt-in for the list the link names (CSRF-protected,
    unlike the one-click POST itself, because a person clicks it)."""
    try:
        access = tokens.resolve(token, kind=AccessToken.Kind.UNSUBSCRIBE)
    except tokens.InvalidLink:
        return _invalid(request)
    except tokens.ExpiredLink as expired:
        access = expired.token  # leaving works with an old link; its undo only asks by email
    person_language_activate(request, access.contact.language)
    result = services.list_rejoin(
        contact=access.contact, subscription_list=access.subscription_list, meta=_meta(request)
    )
    return render(request, "subscriptions/rejoin_sent.html", {"result": result, "in_center": False})


@rate_limited("leave", per_minute=30)
@require_http_methods(["GET", "POST"])
def leave(request, token):
    """The "stop all marketing" link: GET asks (link scanners only GET), the button's POST leaves
    everything. A browser form with its CSRF token, not RFC 8058 one-click."""
    _link_person(request, token, AccessToken.Kind.LEAVE)
    try:
        if request.method == "GET":
            tokens.resolve(token, kind=AccessToken.Kind.LEAVE)
            return render(request, "subscriptions/leave.html")
        outcome = everything_leave_by_link(link=token, meta=_meta(request))
    except tokens.InvalidLink:
        return _invalid(request)
    except tokens.ExpiredLink:
        return render(request, "subscriptions/link_expired.html", status=410)
    return render(request, "subscriptions/left_everything.html", {"outcome": outcome})


@rate_limited("privacy-choices", per_minute=20)
@require_http_methods(["GET", "POST"])
def privacy_choices(request):
    """ "Do Not Sell or Share" and "Limit the Use of My Sensitive Personal Information" for anyone:
    the browser always (a signed cookie), a known contact too when a center visit is under way."""
    contact = _center_contact(request)
    marks = dict(request.privacy_marks)
    context, status = {}, 200
    if request.method == "POST":
        offered = {
            choice.kind: choice
            for choice in choices_service.privacy_choices(contact=contact, browser=marks, gpc=request.gpc)
        }
        if request.POST.get("action") == "opt_in":
            choice = offered.get(request.POST.get("kind", ""))
            if choice is None or not choice.may_reask:
                context["error"], status = _("That choice cannot be changed here now."), 400
            else:
                marks.pop(choice.kind, None)
                if contact is not None:
                    choices_service.opt_in_request(contact=contact, kind=choice.kind, meta=_meta(request))
                    context["done"] = _(
                        "We sent you an email: your choice applies once you confirm it there."
                    )
                else:
                    context["done"] = _("This browser is no longer opted out.")
        else:
            kinds = [kind for kind in request.POST.getlist("opt_out") if kind in offered]
            if not kinds:
                context["error"], status = _("Choose at least one of the options below."), 400
            else:
                now = timezone.now()
                marks.update({kind: marks.get(kind, now) for kind in kinds})
                if contact is not None:
                    choices_service.opt_outs_apply(
                        contact=contact,
                        kinds=kinds,
                        meta=_meta(request),
                        evidence={"page": request.path, "gpc": request.gpc},
                    )
                context["done"] = _("Done: you have opted out.")
    context["choices"] = choices_service.privacy_choices(contact=contact, browser=marks, gpc=request.gpc)
    context["open"] = [choice for choice in context["choices"] if not choice.opted_out]
    context["known"] = contact is not None
    response = render(request, "subscriptions/privacy_choices.html", context, status=status)
    if marks != request.privacy_marks:
        marks_write(response, marks)
    return response
