"""Public pages reached from a journey email: forward it to a friend (journeys.forwarding), and
the click redirect and open image (journeys.tracking). Thin: the rules live in those modules."""

from django import forms
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core.security import rate_limited
from journeys.forwarding import forward_find, forward_send
from journeys.tracking import PIXEL, click_find, click_record, open_find, open_record


class ForwardForm(forms.Form):
    friend_email = forms.EmailField(label=_("Your friend's email address"), max_length=254)


@rate_limited("forward", per_minute=5)
@require_http_methods(["GET", "POST"])
def forward(request, token):
    step_run = forward_find(token)
    if step_run is None:
        return render(request, "subscriptions/link_invalid.html", status=400)
    form = ForwardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            forward_send(step_run=step_run, friend_email=form.cleaned_data["friend_email"])
        except forms.ValidationError as error:
            form.add_error(None, error)
        else:
            # The same answer whether it was sent, already sent, or blocked: nothing to learn here.
            return render(request, "journeys/forward_sent.html")
    return render(request, "journeys/forward.html", {"form": form})


@require_http_methods(["GET", "HEAD"])
def click(request, token):
    """302 to the link the email's template wrote; a forged or unknown token gets a page, never a
    redirect. Whether the click counts is journeys.tracking's question; the redirect works anyway."""
    found = click_find(token)
    if found is None:
        return render(request, "subscriptions/link_invalid.html", status=404)
    send_id, link = found
    click_record(
        send_id=send_id,
        link=link,
        method=request.method,
        user_agent=request.headers.get("user-agent", "")[:500],
    )
    response = HttpResponseRedirect(link.url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the target never learns the token
    return response


@require_http_methods(["GET", "HEAD"])
def open_pixel(request, token):
    send_id = open_find(token)
    if send_id is None:
        return render(request, "subscriptions/link_invalid.html", status=404)
    open_record(send_id=send_id, method=request.method)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    return response
