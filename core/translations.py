"""Per-language wording of what the organisation names itself (purposes, lists): a `translations`
JSON field holding {"de": {"name": "...", "description": "..."}} for every configured language
other than the default, which lives in the model's own fields.

One reader (Translated.translated) answers in the active language and falls back to the default
wording, so a missing translation shows the organisation's own words, never an empty label.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.safe_json import text_problem

# What a translation may hold, and how long each text may be (the default fields' own limits).
TRANSLATED_FIELDS = {"name": 100, "description": 2000}
LABELS = {"name": _("Name"), "description": _("Description")}


def other_languages() -> list[tuple[str, str]]:
    """The configured languages a translation can be given for (all but the default)."""
    return [(code, name) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def base_language(code: str | None) -> str:
    """'de-at' -> 'de': translations are kept per language, not per region."""
    return (code or settings.LANGUAGE_CODE).split("-")[0].lower()


def validate_translations(value) -> None:
    """Only configured languages other than the default, only name and description, each a
    non-empty string within its length limit. One message per problem, naming where it is."""
    if value in (None, ""):
        return
    if not isinstance(value, dict):
        raise ValidationError(_('Translations must be an object such as {"de": {"name": "…"}}.'))
    allowed = dict(other_languages())
    errors = []
    for code, texts in value.items():
        if code not in allowed:
            errors.append(
                _("“%(code)s” is not a language translations can be given for (allowed: %(allowed)s).")
                % {"code": code, "allowed": ", ".join(allowed) or "—"}
            )
            continue
        if not isinstance(texts, dict) or not texts:
            errors.append(_("The %(language)s translation must name at least one text.") % {"language": code})
            continue
        for key, text in texts.items():
            limit = TRANSLATED_FIELDS.get(key)
            if limit is None:
                errors.append(
                    _("“%(key)s” cannot be translated (only: %(keys)s).")
                    % {"key": key, "keys": ", ".join(TRANSLATED_FIELDS)}
                )
            elif not isinstance(text, str) or not text.strip():
                errors.append(_("The %(language)s %(key)s is empty.") % {"language": code, "key": key})
            elif problem := text_problem(text):
                errors.append(f"{code} {key}: {problem}")
            elif len(text) > limit:
                errors.append(
                    _("The %(language)s %(key)s is longer than %(limit)d characters.")
                    % {"language": code, "key": key, "limit": limit}
                )
    if errors:
        raise ValidationError(errors)


def translations_field() -> models.JSONField:
    # Not editable as raw JSON: the admin edits it through translations_form's fields, one per
    # language and text; the validator still runs on every full_clean().
    return models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        editable=False,
        validators=[validate_translations],
        help_text=_("The name and description in the other languages; blank ones show the default wording."),
    )


class Translated:
    """For a model with `translations` (translations_field) next to its `name` and `description`."""

    def translated(self, field: str, language: str | None = None) -> str:
        """The field in `language` (default: the active one), else the default wording."""
        code = base_language(language or get_language())
        if code != base_language(settings.LANGUAGE_CODE):
            text = ((self.translations or {}).get(code) or {}).get(field)
            if text:
                return text
        return getattr(self, field)

    @property
    def shown_name(self) -> str:
        return self.translated("name")

    @property
    def shown_description(self) -> str:
        return self.translated("description")


def translation_field_name(code: str, key: str) -> str:
    return f"translation_{code}_{key}"


def translations_form(base: type[forms.ModelForm] = forms.ModelForm) -> type[forms.ModelForm]:
    """An admin ModelForm with a name and a description field per configured language other
    than the default (settings.LANGUAGES), gathered into the model's `translations` and checked
    by validate_translations. The fields are declared on the class, so admin fieldsets can name
    them (translation_fields())."""
    declared = {}
    for code, language in other_languages():
        for key, limit in TRANSLATED_FIELDS.items():
            declared[translation_field_name(code, key)] = forms.CharField(
                label=format_lazy("{} ({})", LABELS[key], language),
                required=False,
                max_length=limit,
                widget=forms.Textarea(attrs={"rows": 2}) if key == "description" else forms.TextInput,
                help_text=_("Leave blank to show the default wording in this language."),
            )
    return type("TranslationsForm", (_TranslationsFormMixin, base), declared)


def translation_fields() -> list[str]:
    return [translation_field_name(code, key) for code, _n in other_languages() for key in TRANSLATED_FIELDS]


class _TranslationsFormMixin:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = getattr(self.instance, "translations", None) or {}
        for code, _language in other_languages():
            for key in TRANSLATED_FIELDS:
                name = translation_field_name(code, key)
                if name in self.fields:
                    self.fields[name].initial = (stored.get(code) or {}).get(key, "")

    def clean(self):
        cleaned = super().clean()
        translations = {}
        for code, _language in other_languages():
            texts = {
                key: cleaned[name].strip()
                for key in TRANSLATED_FIELDS
                if (name := translation_field_name(code, key)) in cleaned and cleaned[name].strip()
            }
            if texts:
                translations[code] = texts
        try:
            validate_translations(translations)
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        self.instance.translations = translations
        return cleaned
