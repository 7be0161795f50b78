from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.levels import CHILD_MAXIMUM, ConsentLevel, level_wording
from core.normalize import normalize_phone

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
TRACKING = [("allow", _("Allow")), ("deny", _("Do not allow"))]


class PreferencesForm(forms.Form):
    """The subscription center: one form, built for one contact's purposes and lists."""

    consent_given = forms.TypedChoiceField(label=_("What may we do?"), coerce=int, widget=forms.RadioSelect)
    tracking = forms.ChoiceField(
        label=_("May we record how you interact with our emails and pages?"),
        choices=TRACKING,
        widget=forms.RadioSelect,
    )
    lists = forms.TypedMultipleChoiceField(
        label=_("Lists"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(
        label=_("Email"), required=False, help_text=_("A new address is used once you confirm it.")
    )
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    # Not consent: saved by contacts.services.contact_language_set, never as a consent change.
    language = forms.ChoiceField(
        label=_("Language of our pages and emails"),
        required=False,
        help_text=_("Without a choice we follow your browser's language."),
    )

    def __init__(self, *args, contact, purposes, lists, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("As my browser asks")), *settings.LANGUAGES]
        top = CHILD_MAXIMUM if contact.is_child else ConsentLevel.PROFILING
        self.fields["consent_given"].choices = [
            (text.level, f"{text.name} — {text.description}")
            for level in ConsentLevel
            if level <= top and (text := level_wording(level))
        ]
        self.fields["lists"].choices = [
            (lst.pk, f"{lst.shown_name} — {lst.shown_description}".rstrip(" —")) for lst in lists
        ]
        self.purposes = list(purposes)
        for purpose in self.purposes:
            self.fields[f"purpose_{purpose.slug}"] = forms.ChoiceField(
                label=purpose.shown_name,
                help_text=purpose.shown_description,
                choices=YES_NO,
                widget=forms.RadioSelect,
                required=False,
            )

    def purpose_fields(self):
        return [self[f"purpose_{p.slug}"] for p in self.purposes]

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def choices(self) -> dict:
        """The cleaned form as preferences_update's arguments (an empty email keeps the address)."""
        data = self.cleaned_data
        return {
            "level": data["consent_given"],
            "purposes": self.answers(),
            "lists": set(data["lists"]),
            "tracking": data["tracking"] == "allow",
            "profile": {
                key: data[key]
                for key in ("first_name", "last_name", "phone", "email")
                if data[key] or key != "email"
            },
        }

    def answers(self) -> dict[str, bool]:
        return {
            p.slug: self.cleaned_data[f"purpose_{p.slug}"] == "yes"
            for p in self.purposes
            if self.cleaned_data.get(f"purpose_{p.slug}")
        }


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    first_name = forms.CharField(label=_("First name (optional)"), max_length=150, required=False)
    agree = forms.BooleanField(label=_("Yes, send me this list. I can leave at any time."))
