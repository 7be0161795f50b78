"""The one field of "email me my link" on /preferences/."""

from django import forms
from django.utils.translation import gettext_lazy as _


class LinkRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        help_text=_("If we know this address, we email a link to your privacy choices to it."),
    )
