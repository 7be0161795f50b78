"""Email templates an officer writes: the offered placeholders only, checked by a preview on save."""

import pytest
from django.urls import reverse

from journeys.emails import journey_email
from journeys.models import EmailTemplate
from tests.factories import SHIPPED_JOURNEYS, ContactFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/journeys/emailtemplate/add/"


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("body", "{% load static %}{% static 'x.css' %}"),
        ("body", "Dear {{ first_name }}, {% debug %}"),
        ("body", '{% include "admin/base.html" %}'),
        ("body", "{{ first_name|upper }}"),
        ("body", "{{ contact.email }}"),
        ("subject", "Hi {# a comment #}"),
        ("subject", "Hi {{ first_name }"),
    ],
)
def test_a_template_with_anything_but_the_offered_placeholders_is_refused_with_a_message(
    marketer, client_as, field, text
):
    data = {"name": "Welcome", "subject": "Hello {{ first_name }}", "body": "Hi {{ last_name }}"}
    data[field] = text
    response = client_as(marketer).post(ADD, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors[field]
    offered = (
        "{{ first_name }}, {{ last_name }}, {{ unsubscribe_url }}, {{ preferences_url }}, {{ renew_url }}."
    )
    assert f"Only these placeholders can be used: {offered}" in errors[0]
    assert not EmailTemplate.objects.exclude(name__in=SHIPPED_JOURNEYS).exists()


def test_a_template_with_the_offered_placeholders_is_saved_and_previewed(marketer, client_as):
    client = client_as(marketer)
    data = {
        "name": "Welcome",
        "subject": "Hello {{first_name}}",
        "body": "Dear {{ first_name }} {{ last_name }},",
    }
    assert client.post(ADD, data).status_code == 302
    template = EmailTemplate.objects.get(name="Welcome")
    page = client.get(reverse("admin:journeys_emailtemplate_change", args=[template.pk])).content.decode()
    assert "<strong>Hello Ada</strong><pre>Dear Ada Lovelace,</pre>" in page


def test_template_syntax_stored_before_the_check_is_sent_as_text_and_runs_nothing():
    """A template saved before the check (or by SQL) is filled in, never run: {% debug %} would
    otherwise mail the context and the server's loaded modules to the contact."""
    template = EmailTemplate.objects.create(
        name="Old", subject="For {{ first_name }}", body="{% debug %} {{ contact }} <b>{{ last_name }}</b>"
    )
    contact = ContactFactory(first_name="Nia", last_name="<Smith>")
    message = journey_email(template=template, contact=contact)
    assert message.subject == "For Nia"
    assert message.body.startswith("{% debug %} {{ contact }} <b><Smith></b>\n\n--\n")
    html = message.alternatives[0][0]
    assert "&lt;b&gt;&lt;Smith&gt;&lt;/b&gt;" in html and "sys.modules" not in html
