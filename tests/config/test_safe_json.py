"""JSON typed into admin forms: NUL, lone surrogates and deep nesting get a form error, not a 500."""

import pytest
from django import forms
from django.contrib import admin
from django.db import models
from django.test import RequestFactory

from core.safe_json import JSONFormField
from journeys.models import Segment
from tests.factories import SHIPPED_JOURNEYS, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def editable_json_fields():
    """(admin, model field) for every JSONField an admin form (or inline form) edits."""
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="root", is_superuser=True)
    for model, model_admin in admin.site._registry.items():
        admins = [(model, model_admin)] + [
            (inline.model, inline(model, admin.site)) for inline in getattr(model_admin, "inlines", [])
        ]
        for owner, owner_admin in admins:
            inline = owner_admin is not model_admin
            may_add = (
                owner_admin.has_add_permission(request, None)
                if inline
                else owner_admin.has_add_permission(request)
            )
            if not (may_add or owner_admin.has_change_permission(request)):
                continue  # read-only for everyone, superusers included: no form ever saves
            readonly = set(owner_admin.get_readonly_fields(request))
            for field in owner._meta.get_fields():
                if isinstance(field, models.JSONField) and field.editable and field.name not in readonly:
                    yield owner_admin, field, request


# Admins whose change page is their own view, never a model form.
NO_MODEL_FORM = {"dsr.ExportBundle.redactions", "dsr.ExportBundle.downloads"}


def test_every_admin_form_editing_json_uses_the_safe_field():
    found = []
    for owner_admin, field, request in editable_json_fields():
        name = f"{field.model._meta.label}.{field.name}"
        if name in NO_MODEL_FORM:
            continue
        declared = getattr(owner_admin.form, "declared_fields", {}).get(field.name)
        if declared is not None and not isinstance(declared, forms.JSONField):
            continue  # the form offers its own field (e.g. checkboxes of event types), not JSON typing
        formfield = owner_admin.formfield_for_dbfield(field, request)
        found.append(name)
        assert isinstance(formfield, JSONFormField), f"{type(owner_admin).__name__}: {field.name}"
    assert "journeys.Segment.rules" in found and "imports.ImportSource.option_map" in found


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ('{"field": "first_name", "op": "eq", "value": "a\\u0000"}', "NUL character"),
        ('{"field": "first_name", "op": "eq", "value": "a\\ud800"}', "lone surrogate (U+D800)"),
        ('{"all": ' + "[" * 5000 + "]" * 5000 + "}", "nested more than 32 levels"),
    ],
    ids=["nul", "surrogate", "deep"],
)
def test_segment_rules_no_database_stores_are_a_form_error(marketer, client_as, rules, message):
    client = client_as(marketer)
    response = client.post("/admin/journeys/segment/add/", {"name": "Odd", "description": "", "rules": rules})
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["rules"])
    assert not Segment.objects.exclude(name__in=SHIPPED_JOURNEYS).exists()


def test_segment_rules_nested_past_the_limit_are_refused_before_they_are_walked():
    from django.core.exceptions import ValidationError

    from journeys.rules import validate_rules

    rules = {"all": []}
    for _ in range(5000):  # as another service or a script could pass them, parsed already
        rules = {"all": [rules]}
    with pytest.raises(ValidationError, match="nested more than 32 levels"):
        validate_rules(rules)


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/api/v1/requests/a%00b/", {}),
        ("/admin/contacts/contact/?email=a%00", {}),
        ("/lists/news/", {"HTTP_USER_AGENT": "Mozilla\x00"}),
    ],
    ids=["api-detail", "admin-filter", "user-agent"],
)
def test_a_nul_in_the_url_or_user_agent_is_a_400_with_a_message(privacy_officer, client_as, url, headers):
    """Each was a 500 on PostgreSQL (a DataError for the lookup, or for the sign-up's evidence)."""
    from subscriptions.models import ConsentRequest, SubscriptionList

    SubscriptionList.objects.create(name="News", slug="news", min_level=1)
    client = client_as(privacy_officer)
    if url.startswith("/lists/"):
        response = client.post(url, {"email": "a@example.org", "agree": "on"}, **headers)
    else:
        response = client.get(url, **headers)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    assert not ConsentRequest.objects.exists()


def test_a_redaction_reason_with_a_nul_is_refused_with_a_message(privacy_officer, client_as):
    """A form post cannot carry a lone surrogate (invalid UTF-8 arrives as U+FFFD), but a NUL it
    can: this review page reads its fields itself, and the reason went into a JSON column."""
    from dsr.bundles import bundle_build, bundle_create
    from dsr.models import ExportBundle
    from dsr.services import dsr_create, dsr_verify

    ContactFactory(email="holly@contoso.com")
    request, _ = dsr_create(kind="access", email="holly@contoso.com", channel="web")
    request = dsr_verify(request=request, actor=privacy_officer, how="reply from the address")
    bundle = bundle_create(request=request, actor=privacy_officer)
    bundle_build(bundle_id=bundle.pk)
    response = client_as(privacy_officer).post(
        f"/admin/dsr/exportbundle/{bundle.pk}/change/",
        {"action": "redact", "item": ["contacts.contact:0"], "reason": "names a\x00colleague"},
        follow=True,
    )
    assert response.status_code == 200
    assert any("cannot contain" in str(m) for m in response.context["messages"])
    assert ExportBundle.objects.get(pk=bundle.pk).redactions == []


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def test_nesting_is_counted_in_the_text_as_the_parser_would_see_it():
    """Brackets, quotes and backslashes inside strings are text, never nesting (hypothesis)."""
    import json

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from core.safe_json import json_depth

    text = st.text(alphabet=st.sampled_from('[]{}"\\\\:,ab\u00e9 '), max_size=12)
    values = st.recursive(
        st.none() | st.booleans() | st.integers() | text,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
        max_leaves=20,
    )

    @settings(max_examples=300, deadline=None)
    @given(values, st.booleans())
    def check(value, ascii_only):
        assert json_depth(json.dumps(value, ensure_ascii=ascii_only)) == _depth(value)

    check()
