from django import forms
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact
from contacts.services import PROFILE_FIELDS
from core.levels import level_choices, level_wording

ANSWERS = [("", _("— no answer —")), ("yes", _("Yes")), ("no", _("No"))]
CHANNELS = [
    ("", _("—")),
    ("phone", _("Phone call")),
    ("letter", _("Letter")),
    ("email", _("Email")),
    ("in_person", _("In person")),
    ("web", _("Web form")),
    ("other", _("Other")),
]


def purpose_field_name(purpose) -> str:
    return f"purpose_{purpose.pk}"


class ContactAdminForm(forms.ModelForm):
    """The contact form of the admin. Consent fields are validated here and written by the
    consent service in ContactAdmin.save_model; a consent change needs a justification."""

    purposes: list = []  # set per request by ContactAdmin.get_form, with one field each

    justification = forms.CharField(
        label=_("Justification"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Required when you change consent or correct data, e.g. “phone call on 12 May, withdrew marketing”."
        ),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=CHANNELS, required=False)

    class Meta:
        model = Contact
        # The admin narrows this per role with its fieldsets.
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "country",
            "language",
            "consent_given",
            "tracking_allowed",
            "is_child",
            "date_of_birth",
            "guardian",
            "processing_restricted",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "consent_given" in self.fields:
            # One line per level (the admin renders help text as HTML; format_html_join escapes).
            texts = [level_wording(value) for value, _label in level_choices()]
            self.fields["consent_given"].help_text = format_html_join(
                "", "{}: {}<br>", ((text.label, text.description) for text in texts)
            )
            self.fields["consent_given"].choices = level_choices()
        answers = {}
        if self.instance.pk:
            answers = {pc.purpose_id: pc.granted for pc in self.instance.purpose_consents.all()}
        for purpose in self.purposes:
            name = purpose_field_name(purpose)
            if name in self.fields and purpose.pk in answers:
                self.fields[name].initial = "yes" if answers[purpose.pk] else "no"

    def consent_changes(self) -> dict:
        """Keyword arguments for consent_change() holding only what the user really changed."""
        changes: dict = {}
        # Only fields that validated are in cleaned_data; an invalid one is reported by its field.
        if "consent_given" in self.changed_data and "consent_given" in self.cleaned_data:
            changes["level"] = self.cleaned_data["consent_given"]
        if "tracking_allowed" in self.changed_data and "tracking_allowed" in self.cleaned_data:
            changes["tracking_allowed"] = self.cleaned_data["tracking_allowed"]
        purposes = {}
        for purpose in self.purposes:
            name = purpose_field_name(purpose)
            answer = self.cleaned_data.get(name, "")
            # "No answer" cannot withdraw an answer once given: choose "No" to withdraw.
            if answer and name in self.changed_data:
                purposes[purpose] = answer == "yes"
        if purposes:
            changes["purposes"] = purposes
        return changes

    def clean(self):
        cleaned = super().clean()
        reason = (cleaned.get("justification") or "").strip()
        if self.consent_changes() and not reason:
            self.add_error(
                "justification",
                _(
                    "Say why you change this contact's consent, e.g. “phone call on 12 May, withdrew marketing”."
                ),
            )
        # GDPR Art. 16 and 18: a rectification, or lifting/setting a restriction, is recorded with
        # its reason in the contact's history.
        elif self.instance.pk and set(self.changed_data) & PROFILE_FIELDS and not reason:
            self.add_error(
                "justification",
                _("Say why you change this contact's data, e.g. “rectification requested in DSR-1A2B3C4D”."),
            )
        return cleaned
