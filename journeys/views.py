"""Public page: forward a journey email to a friend. Thin: the rules live in journeys.forwarding."""

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core.security import rate_limited
from journeys.forwarding import forward_find, forward_send


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
