"""The contact page's "Why is this contact (not) eligible?": the officer picks a purpose, list or
journey (and for a purpose, the level and tracking it needs); the page shows the verdict of the
eligibility selector's own rules for this one contact, rule by rule in words."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from consent.eligibility import eligibility_targets
from core.levels import ConsentLevel, level_choices


class EligibilityQuestionForm(forms.Form):
    """What to check the contact against; bad input is a form error, never a 500."""

    target = forms.ChoiceField(label=_("Eligible for"), required=False)
    min_level = forms.TypedChoiceField(
        label=_("at consent level at least"),
        choices=level_choices,
        coerce=int,
        initial=ConsentLevel.NONE,
        required=False,
        empty_value=ConsentLevel.NONE,
        help_text=_("For a purpose or no target; a list or journey brings its own minimum level."),
    )
    needs_tracking = forms.BooleanField(
        label=_("with interaction tracking"),
        required=False,
        help_text=_("For a purpose or no target: lead scoring and tracked links need it."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        groups = [
            (str(t.label), [(f"{t.key}:{pk}", name) for pk, name in t.choices()])
            for t in eligibility_targets()
        ]
        self.fields["target"].choices = [("", _("only the level (no purpose, list or journey)"))] + [
            group for group in groups if group[1]
        ]

    def criteria(self) -> tuple[str, dict]:
        """(who asks, eligible_contacts keywords) from the cleaned data."""
        data = self.cleaned_data
        keywords = {
            "min_level": data.get("min_level") or 0,
            "needs_tracking": bool(data.get("needs_tracking")),
        }
        asked = "this check"
        key, _sep, pk = (data.get("target") or "").partition(":")
        if key:
            asked, extra = self._target(key, pk)
            keywords.update(extra)
        return asked, keywords

    def clean_target(self):
        value = self.cleaned_data.get("target") or ""
        if value:
            key, _sep, pk = value.partition(":")
            self._target(key, pk)  # raises when it is gone since the page was built
        return value

    @staticmethod
    def _target(key: str, pk: str) -> tuple[str, dict]:
        targets = {t.key: t for t in eligibility_targets()}
        found = targets[key].criteria(int(pk)) if key in targets and pk.isdigit() else None
        if found is None:
            raise forms.ValidationError(_("That purpose, list or journey does not exist (any more)."))
        return found
