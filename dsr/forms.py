from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.normalize import normalize_phone
from dsr.agents import proof_check
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

    # An authorised agent acting for someone else, where the law allows it (Law.agent_requests).
    agent = forms.BooleanField(
        label=_("I am an authorised agent making this request for someone else"), required=False
    )
    agent_name = forms.CharField(label=_("Your name, as the agent"), max_length=200, required=False)
    agent_email = forms.EmailField(
        label=_("Your email address, as the agent"), max_length=254, required=False
    )
    proof = forms.FileField(
        label=_("Proof of your authority: their signed permission or a power of attorney"),
        help_text=_("PDF, PNG or JPEG, at most 5 MB."),
        required=False,
    )
    AGENT_FIELDS = ("agent", "agent_name", "agent_email", "proof")

    def __init__(self, *args, law: Law, **kwargs):
        super().__init__(*args, **kwargs)
        self.law = law
        self.fields["kind"].choices = [(kind, label) for kind, label in RIGHTS if kind in law.rights]
        if not law.agent_requests:
            for name in self.AGENT_FIELDS:
                del self.fields[name]

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data.get("phone", ""))
        except ValidationError as error:
            raise ValidationError(_("This is not a phone number we can call back.")) from error

    def clean(self):
        data = super().clean()
        if data.get("agent"):
            self._agent_clean(data)
        if not data.get("email") and not data.get("phone") and not self.has_error("phone"):
            raise ValidationError(
                _("Give your email address, or a phone number if we know you by phone only.")
            )
        return data

    def _agent_clean(self, data) -> None:
        """An agent gives their name and address, the proof, and the person's email address: we
        ask the person there to confirm (dsr.agents)."""
        if not data.get("email") and not self.has_error("email"):
            self.add_error(
                "email", _("Give the email address of the person you act for: we ask them to confirm.")
            )
        for name, message in (
            ("agent_name", _("Give your name as the agent.")),
            ("agent_email", _("Give your email address as the agent.")),
        ):
            if not data.get(name) and not self.has_error(name):
                self.add_error(name, message)
        try:
            data["proof_extension"] = proof_check(data.get("proof"))
        except ValidationError as error:
            self.add_error("proof", error)
