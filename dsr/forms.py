from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.normalize import normalize_phone
from dsr.jurisdictions import COUNTRY_NAMES, Law, country_choices, law_for_country
from dsr.models import DataSubjectRequest

RIGHTS = [
    (DataSubjectRequest.Kind.ACCESS, _("Send me a copy of my data")),
    (DataSubjectRequest.Kind.EXPORT, _("Send me my data in a machine-readable file")),
    (DataSubjectRequest.Kind.RECTIFY, _("Correct my data")),
    (DataSubjectRequest.Kind.RESTRICT, _("Stop processing my data")),
    (DataSubjectRequest.Kind.ERASE, _("Erase my data (forget me)")),
]


class CountryForm(forms.Form):
    """Where the requester lives: it decides the law, hence the rights the request form offers."""

    country = forms.ChoiceField(label=_("Where do you live?"), choices=country_choices, required=False)

    @staticmethod
    def law_of(country: str) -> tuple[str, Law]:
        """The country as given (blank when it is not one we list) and its law."""
        country = country if country in COUNTRY_NAMES else ""
        return country, law_for_country(country)


class RequestForm(forms.Form):
    country = forms.CharField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label=_("What would you like us to do?"), widget=forms.RadioSelect)
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

    def __init__(self, *args, law: Law, **kwargs):
        super().__init__(*args, **kwargs)
        self.law = law
        self.fields["kind"].choices = [(kind, label) for kind, label in RIGHTS if kind in law.rights]

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
