"""The "email me my link" form on /preferences/: a way into the subscription center for everyone who only
knows their address, answering the same for every address, over real HTTP and real SMTP."""

import re
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse

from consent.models import Source
from consent.services import consent_change
from contacts.models import SuppressedIdentity
from dsr.erasure import contacts_erase
from subscriptions.models import AccessToken
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the email leaves on commit, as in production

WAY_IN = reverse("subscriptions:center")
ASK = reverse("subscriptions:center-link-request")
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture
def holly(logging_on):
    contact = ContactFactory(first_name="Holly", last_name="Hunter", email="holly@contoso.com")
    consent_change(contact=contact, level=3, source=Source.IMPORT)
    return contact


@pytest.fixture
def erased_address(privacy_officer):
    """An erased person's address: the contact is gone and its identity is suppressed."""
    gone = ContactFactory(email="gone@contoso.com")
    contacts_erase(contacts=[gone], actor=privacy_officer, scan=False)
    assert SuppressedIdentity.objects.exists()
    return "gone@contoso.com"


def ask(email: str, *, client_ip: str = "198.51.100.1"):
    """What a browser does: open /preferences/, read its CSRF token, post the address."""
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=client_ip)
    form = client.get(WAY_IN)
    assert form.status_code == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.content).group(1).decode()
    return client.post(ASK, {"email": email, "csrfmiddlewaretoken": token})


def test_preferences_without_a_link_offers_to_email_one(client):
    page = client.get(WAY_IN)
    html = page.content.decode()
    assert page.status_code == 200
    assert f'action="{ASK}"' in html and 'type="email"' in html and "Email me my link" in html
    assert '<label for="id_email">' in html  # labelled, a plain form: no script needed


def test_a_known_address_gets_one_email_whose_link_opens_the_center(smtp, holly):
    response = ask("Holly@Contoso.com")
    assert response.status_code == 200 and b"Check your inbox" in response.content
    assert [m["To"] for m in smtp.messages] == ["holly@contoso.com"]
    (link,) = smtp.links("holly@contoso.com")
    html_part = smtp.messages[0].get_body(preferencelist=("html",)).get_content()
    assert f'href="{link}"' in html_part

    visitor = Client()
    entry = visitor.get(urlparse(link).path)
    assert entry.status_code == 302 and entry["Location"] == WAY_IN
    center = visitor.get(WAY_IN).content.decode()
    assert "Email me my link" not in center and 'value="Holly"' in center  # Holly's own center


def test_unknown_and_erased_addresses_get_nothing_and_the_same_page_as_a_known_one(
    smtp, holly, erased_address
):
    # A contact made again under the erased address (by hand, past the sign-up's check) still
    # gets nothing: the erased identity is suppressed, not only its old row.
    ContactFactory(email=erased_address)
    answers = [
        ask("holly@contoso.com", client_ip="198.51.100.1"),
        ask("nobody@contoso.com", client_ip="198.51.100.2"),
        ask(erased_address, client_ip="198.51.100.3"),
        ask("a.b-c+d@sub.example.museum", client_ip="198.51.100.4"),  # well-formed, unknown
    ]
    assert {a.status_code for a in answers} == {200}
    bodies = {CSRF_INPUT.sub(b"", a.content) for a in answers}
    assert len(bodies) == 1  # byte for byte the same page, whoever the address belongs to
    assert [m["To"] for m in smtp.messages] == ["holly@contoso.com"]
    assert AccessToken.objects.filter(kind=AccessToken.Kind.CENTER).count() == 1  # Holly's only


def test_the_address_appears_in_no_url_and_not_on_the_answer(smtp, holly):
    response = ask("holly@contoso.com")
    assert b"holly@contoso.com" not in response.content
    assert (
        "holly" not in ASK and response.request["PATH_INFO"] == ASK and not response.request["QUERY_STRING"]
    )


def test_a_post_without_the_csrf_token_is_refused_and_sends_nothing(smtp, holly):
    client = Client(enforce_csrf_checks=True)
    assert client.post(ASK, {"email": "holly@contoso.com"}).status_code == 403
    assert smtp.messages == []


def test_a_malformed_address_is_named_as_such_and_sends_nothing(smtp, holly):
    response = Client().post(ASK, {"email": "holly@"})
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content and smtp.messages == []


def test_one_address_gets_three_emails_an_hour_however_many_clients_ask(smtp, holly, settings):
    """Per address the limit is silent: the page cannot differ, the work happens after it."""
    assert settings.CONFIRMATION_EMAILS_PER_ADDRESS_PER_HOUR == 3
    answers = [ask("holly@contoso.com", client_ip=f"198.51.100.{i}") for i in range(1, 6)]
    assert {a.status_code for a in answers} == {200}
    assert len({CSRF_INPUT.sub(b"", a.content) for a in answers}) == 1
    assert [m["To"] for m in smtp.messages] == ["holly@contoso.com"] * 3


def test_one_client_is_refused_with_429_after_five_requests_a_minute(smtp, holly):
    """Per client the answer is 429: it says how often this client asked, nothing about addresses."""
    client = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(5):
        assert client.post(ASK, {"email": f"someone{n}@example.org"}).status_code == 200
    refused = client.post(ASK, {"email": "holly@contoso.com"})
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert smtp.messages == []  # the sixth request sent Holly nothing
    assert Client(REMOTE_ADDR="203.0.113.8").post(ASK, {"email": "holly@contoso.com"}).status_code == 200
    assert [m["To"] for m in smtp.messages] == ["holly@contoso.com"]  # another client still can


@pytest.mark.parametrize(
    "page",
    ["confirm_result", "unsubscribed", "dsr_sent", "stop_all", "left_everything"],
)
def test_result_pages_lead_on_to_the_center_and_to_data_requests(client, holly, page):
    from subscriptions.models import SubscriptionList
    from subscriptions.services import unsubscribe_link

    if page == "unsubscribed":
        news = SubscriptionList.objects.create(name="News", slug="news", min_level=1)
        response = client.post(urlparse(unsubscribe_link(contact=holly, subscription_list=news)).path)
    elif page in ("stop_all", "left_everything"):
        from subscriptions.services.links import leave_link

        link = urlparse(leave_link(contact=holly)).path
        response = client.get(link) if page == "stop_all" else client.post(link)
    elif page == "confirm_result":
        response = client.post(reverse("subscriptions:confirm", args=["forged:link"]))
    else:
        response = client.post(reverse("dsr:request"), {"kind": "access", "email": "x@example.org"})
    html = response.content.decode()
    assert f'href="{WAY_IN}"' in html and f'href="{reverse("dsr:request")}"' in html


@pytest.mark.django_db(transaction=False)  # holds the queued task back to look at the request alone
def test_the_page_does_the_same_work_for_every_address(
    holly, erased_address, django_capture_on_commit_callbacks
):
    """Same time because same work: the request reads no contact and no suppression list for any
    address; it queues one task and answers. The lookup happens in the task, after the response."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    work = []
    for email in ("holly@contoso.com", "nobody@contoso.com", erased_address):
        client = Client()
        with django_capture_on_commit_callbacks() as queued, CaptureQueriesContext(connection) as queries:
            response = client.post(ASK, {"email": email})
        sql = [q["sql"] for q in queries.captured_queries]
        assert response.status_code == 200 and len(queued) == 1
        assert not any("contacts_contact" in s or "suppressedidentity" in s for s in sql)
        work.append((len(sql), CSRF_INPUT.sub(b"", response.content)))  # the switcher's token is random
    assert len(set(work)) == 1


def test_no_address_is_written_to_the_logs(smtp, holly, caplog):
    caplog.set_level("DEBUG")
    ask("holly@contoso.com")
    ask("nobody@contoso.com", client_ip="198.51.100.2")
    ask("holly@", client_ip="198.51.100.3")
    assert len(smtp.messages) == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "holly@" not in logged and "nobody@" not in logged
