from django import forms
from django.utils.translation import gettext_lazy as _

from dsr.models import DataSubjectRequest


class RequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What would you like us to do?"),
        choices=[
            (DataSubjectRequest.Kind.ACCESS, _("Send me a copy of my data")),
            (DataSubjectRequest.Kind.EXPORT, _("Send me my data in a machine-readable file")),
            (DataSubjectRequest.Kind.RECTIFY, _("Correct my data")),
            (DataSubjectRequest.Kind.RESTRICT, _("Stop processing my data")),
            (DataSubjectRequest.Kind.ERASE, _("Erase my data (forget me)")),
        ],
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(label=_("Your email address"), max_length=254)
    name = forms.CharField(label=_("Your name (optional)"), max_length=200, required=False)
    details = forms.CharField(
        label=_("Anything we should know (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
