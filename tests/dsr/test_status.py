"""A requester follows their request: the acknowledgement's signed link opens a page with the
status, the deadline, an extension and its reason, and the download once the bundle is released;
no link that does not work tells anything apart, and an erased person's link is dead."""

import base64
import re
from datetime import timedelta
from urllib.parse import unquote, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from core import tokens
from dsr.bundles import bundle_create, bundle_release
from dsr.erasure import contacts_erase
from dsr.models import DataSubjectRequest, ExportBundle, RequestStatusLink
from dsr.services import dsr_complete, dsr_decline, dsr_extend, dsr_start
from dsr.status_links import status_links_purge
from tests.factories import ContactFactory
from tests.pages import same_page

pytestmark = pytest.mark.django_db(transaction=True)  # mail leaves on commit, as in production
HOLLY = "holly@contoso.com"


def _request_through_the_public_page(client, smtp, *, kind="access", email=HOLLY):
    """Submit on /requests/, confirm by the emailed link; the request as the queue holds it."""
    client.post(reverse("dsr:request"), {"kind": kind, "email": email, "name": "Holly"})
    (confirm,) = [link for link in smtp.links(email) if "/requests/confirm/" in link]
    client.post(urlparse(confirm).path)
    return DataSubjectRequest.objects.get(requester_email=email, kind=kind)


def _status_links(smtp, email=HOLLY) -> list[str]:
    return [urlparse(link).path for link in smtp.links(email) if "/requests/status/" in link]


def _html_bodies(smtp, email=HOLLY) -> list[str]:
    return [m.get_body(preferencelist=("html",)).get_content() for m in smtp.messages if email in m["To"]]


def _text(page) -> str:
    """The page as a person reads it: tags gone, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page.content.decode()).split())


@pytest.fixture
def officer(privacy_officer):
    return privacy_officer


def test_the_acknowledgement_links_to_a_page_with_the_status_and_deadline(client, smtp):
    ContactFactory(email=HOLLY)
    request = _request_through_the_public_page(client, smtp)
    (link,) = _status_links(smtp)
    assert any(link in body for body in _html_bodies(smtp))  # the HTML part carries it too

    page = client.get(link)
    text = _text(page)
    assert page.status_code == 200
    assert f"Your request {request.reference}" in text
    assert "Received and confirmed" in text
    assert f"Deadline set by law {request.due_at:%-d %B %Y}" in text
    assert "Deadline extended No." in text
    assert f'href="{reverse("subscriptions:center")}"' in page.text  # onward to the center
    assert 'href="/requests/"' in page.text  # onward to the request page
    assert HOLLY not in page.text and "Holly" not in page.text  # the state, not the person


def test_the_link_names_nobody_and_the_page_leaves_nothing_in_a_shared_browser(client, smtp):
    ContactFactory(email=HOLLY)
    request = _request_through_the_public_page(client, smtp)
    (link,) = _status_links(smtp)
    token = unquote(link.removeprefix("/requests/status/").rstrip("/"))
    random_part = token.split(":")[0]
    decoded = base64.urlsafe_b64decode(random_part + "=" * (-len(random_part) % 4))
    for clear in (HOLLY, "holly", request.reference, "contoso"):
        assert clear.lower() not in link.lower()
    assert HOLLY.encode() not in decoded and request.reference.encode() not in decoded
    # The signed part is 24 random bytes (from a random nonce), not the request's number.
    stored = RequestStatusLink.objects.get(request=request)
    assert tokens.unsign(token, kind="dsr-status") == tokens.derive(stored.nonce) == random_part
    assert len(decoded) == 24 and random_part != str(request.pk)
    assert not RequestStatusLink.objects.filter(digest__contains=random_part).exists()  # a digest only

    page = client.get(link)
    assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]
    assert page["Referrer-Policy"] == "no-referrer"
    assert '<meta name="referrer" content="no-referrer">' in page.text  # the page's own rule agrees
    assert client.post(link).status_code == 405  # nothing to post


def test_an_extension_and_its_reason_show_on_the_page_and_its_email_carries_the_link(client, smtp, officer):
    ContactFactory(email=HOLLY)
    request = _request_through_the_public_page(client, smtp)
    (link,) = _status_links(smtp)
    smtp.messages.clear()

    until = request.due_at + timedelta(days=30)
    dsr_extend(request=request, actor=officer, until=until, reason="Twelve years of records to gather")
    assert _status_links(smtp) == [link]  # the extension email: the same link

    text = _text(client.get(link))
    assert "need more time" in text
    assert f"Deadline extended Yes: we will answer by {until:%-d %B %Y}." in text
    assert "Reason we gave for the extension Twelve years of records to gather" in text


def test_a_released_bundle_is_offered_for_download_while_its_own_link_works(client, smtp, officer):
    ContactFactory(email=HOLLY)
    request = _request_through_the_public_page(client, smtp)
    (link,) = _status_links(smtp)
    assert "Download your data" not in client.get(link).text  # nothing before the release

    bundle = bundle_create(request=request, actor=officer)  # built in-process on commit
    bundle.refresh_from_db()
    assert bundle.status == ExportBundle.Status.REVIEW
    assert "Download your data" not in client.get(link).text  # nor while an officer reviews it
    bundle_release(bundle=bundle, actor=officer)
    (emailed,) = [urlparse(x).path for x in smtp.links(HOLLY) if "/requests/download/" in x]
    assert _status_links(smtp) == [link, link]  # the bundle-ready email carries it too

    page = client.get(link)
    (offered,) = re.findall(r'href="(/requests/download/[^"]+)"', page.text)
    assert offered == emailed
    download = client.post(offered)
    assert download.status_code == 200 and download["Content-Disposition"].endswith('.zip"')

    ExportBundle.objects.update(link_expires_at=timezone.now() - timedelta(minutes=1))
    page = client.get(link)
    assert "/requests/download/" not in page.text and "expired or was used up" in page.text


def _closed_long_ago(request, days):
    DataSubjectRequest.objects.filter(pk=request.pk).update(closed_at=timezone.now() - timedelta(days=days))


def test_the_link_works_for_a_month_after_the_answer_then_stops(client, smtp, officer):
    ContactFactory(email=HOLLY)
    request = _request_through_the_public_page(client, smtp)
    (link,) = _status_links(smtp)
    dsr_decline(request=request, actor=officer, reason="We hold no data about this address.")
    _closed_long_ago(request, 29)
    text = _text(client.get(link))
    assert "Declined" in text and "Why we declined We hold no data about this address." in text

    _closed_long_ago(request, 31)
    assert client.get(link).status_code == 404
    assert status_links_purge() == 1 and not RequestStatusLink.objects.exists()


def test_forged_unknown_foreign_and_expired_links_get_one_identical_answer(client, smtp, officer):
    ContactFactory(email=HOLLY)
    request = _request_through_the_public_page(client, smtp)
    (live,) = _status_links(smtp)
    token = unquote(live.split("/")[-2])
    confirm_link = next(x for x in smtp.links(HOLLY) if "/confirm/" in x)
    confirm_token = unquote(urlparse(confirm_link).path.split("/")[-2])
    made_up = tokens.text_for("dsr-status", "a" * 32)  # signed by us, but no such link
    candidates = {
        "forged": token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "garbage": "nonsense",
        "unknown": made_up,
        "another kind of link": confirm_token,
    }
    answers = {name: client.get(reverse("dsr:status", args=[text])) for name, text in candidates.items()}
    dsr_start(request=request, actor=officer)
    dsr_complete(request=request, actor=officer)
    _closed_long_ago(request, 60)
    answers["expired"] = client.get(live)

    bodies = {same_page(answer) for answer in answers.values()}
    assert len(bodies) == 1, "every failing link must get the same page"
    assert {answer.status_code for answer in answers.values()} == {404}
    failing = answers["forged"]
    text = _text(failing)
    assert "This link does not open a request" in text and 'href="/requests/"' in failing.text  # ask again
    assert "no-store" in failing["Cache-Control"] and failing["Referrer-Policy"] == "no-referrer"
    assert request.reference not in text


def test_an_erased_persons_links_are_dead(client, smtp, officer):
    holly = ContactFactory(email=HOLLY)
    linked = _request_through_the_public_page(client, smtp)
    (linked_link,) = _status_links(smtp)
    # A request from the address before the contact existed reaches the person by address only.
    holly_later = "holly.later@contoso.com"
    by_address = _request_through_the_public_page(client, smtp, kind="rectify", email=holly_later)
    (address_link,) = _status_links(smtp, holly_later)
    assert not by_address.contacts.exists()
    second = ContactFactory(email=holly_later)
    assert client.get(linked_link).status_code == client.get(address_link).status_code == 200

    contacts_erase(contacts=[holly, second], actor=officer)
    dead = [client.get(linked_link), client.get(address_link)]
    forged = client.get(reverse("dsr:status", args=["nonsense"]))
    assert [answer.status_code for answer in dead] == [404, 404]
    assert {same_page(answer) for answer in dead} == {same_page(forged)}
    assert not RequestStatusLink.objects.filter(request=linked).exists()  # deleted through the registry
    assert RequestStatusLink.objects.get(request=by_address).revoked_at is not None


def test_an_outsider_learns_nothing_from_the_status_pages(client, smtp, client_as, outsider):
    ContactFactory(email=HOLLY)
    request = _request_through_the_public_page(client, smtp)
    (live,) = _status_links(smtp)
    staff = client_as(outsider)
    guesses = [
        reverse("dsr:status", args=[str(request.pk)]),
        reverse("dsr:status", args=[request.reference]),
        reverse("dsr:status", args=[HOLLY]),
        reverse("dsr:status", args=[tokens.text_for("dsr-status", str(request.pk))]),
    ]
    answers = [staff.get(url) for url in guesses] + [client.get(url) for url in guesses]
    assert {answer.status_code for answer in answers} == {404}
    assert len({same_page(answer) for answer in answers}) == 1
    # Beyond the path the visitor typed (echoed only as the language switcher's `next`).
    assert all(request.reference.encode() not in same_page(answer) for answer in answers)
    assert client.get(live).status_code == 200  # the holder of the link still sees it
