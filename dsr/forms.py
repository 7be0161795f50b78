from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.normalize import normalize_phone
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
    email = forms.EmailField(label=_("Your email address"), max_length=254, required=False)
    phone = forms.CharField(
        label=_("Your phone number (optional; enough on its own if we know you by phone only)"),
        max_length=40,
        required=False,
    )
    name = forms.CharField(label=_("Your name (optional)"), max_length=200, required=False)
    details = forms.CharField(
        label=_("Anything we should know (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data.get("phone", ""))
        except ValidationError as error:
            raise ValidationError(_("This is not a phone number we can call back.")) from error

    def clean(self):
        data = super().clean()
        if not data.get("email") and not data.get("phone") and not self.has_error("phone"):
            raise ValidationError(
                _("Give your email address, or a phone number if we know you by phone only.")
            )
        return data
