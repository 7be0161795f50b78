"""The erasure suppression list: hashes, not addresses; sign-ups of an erased address create nothing."""

import pytest

from contacts.models import Contact, SuppressedIdentity
from contacts.suppression import is_suppressed, suppressed_values, suppression_add
from tests.admin_helpers import admin_search
from tests.pages import same_page

pytestmark = pytest.mark.django_db


def test_the_list_holds_keyed_hashes_and_matches_any_spelling_of_the_identity():
    assert suppression_add(email="Holly@Contoso.com", phone="+49 30 1234567", reason="DSR-1") == 2
    assert suppression_add(email="holly@contoso.com", reason="DSR-2") == 0  # idempotent
    stored = " ".join(SuppressedIdentity.objects.values_list("digest", flat=True))
    assert "holly" not in stored and "1234567" not in stored
    assert is_suppressed(email=" HOLLY@contoso.com ")
    assert is_suppressed(phone="030 1234567")  # same number, national notation
    assert not is_suppressed(email="other@contoso.com") and not is_suppressed(email="not an address")
    assert suppressed_values([("email", "holly@contoso.com"), ("email", "x@y.org")]) == {
        ("email", "holly@contoso.com")
    }


def test_the_hash_depends_on_the_key(settings):
    suppression_add(email="holly@contoso.com", reason="DSR-1")
    settings.AUDIT_CHAIN_KEY = "another-installation"
    assert not is_suppressed(email="holly@contoso.com")


@pytest.mark.django_db(transaction=True)  # mail leaves on commit
def test_a_sign_up_with_an_erased_address_creates_nothing_and_sends_nothing(client, smtp):
    from subscriptions.models import SubscriptionList
    from tests.factories import PurposeFactory

    news = SubscriptionList.objects.create(name="News", slug="news", purpose=PurposeFactory(), min_level=3)
    suppression_add(email="holly@contoso.com", reason="DSR-1")
    blocked = client.post(
        f"/lists/{news.slug}/", {"email": "Holly@contoso.com", "first_name": "H", "agree": "on"}
    )
    fresh = client.post(
        f"/lists/{news.slug}/", {"email": "new@contoso.com", "first_name": "H", "agree": "on"}
    )
    assert blocked.status_code == fresh.status_code == 200

    assert same_page(blocked) == same_page(fresh)  # the same answer: no enumeration of erased people
    assert list(Contact.objects.values_list("email", flat=True)) == ["new@contoso.com"]
    assert [m["To"] for m in smtp.messages] == ["new@contoso.com"]


def test_an_officer_checks_an_address_by_typing_it_and_lifts_the_block(client_as, privacy_officer, marketer):
    suppression_add(email="holly@contoso.com", reason="DSR-1")
    entry = SuppressedIdentity.objects.get()
    officer = client_as(privacy_officer)
    found = admin_search(officer, "/admin/contacts/suppressedidentity/", "Holly@Contoso.com")
    missed = admin_search(officer, "/admin/contacts/suppressedidentity/", "other@contoso.com")
    assert "DSR-1" in found.text and "DSR-1" not in missed.text
    assert officer.get("/admin/contacts/suppressedidentity/add/").status_code == 403
    assert client_as(marketer).get("/admin/contacts/suppressedidentity/").status_code == 403
    officer.post(f"/admin/contacts/suppressedidentity/{entry.pk}/delete/", {"post": "yes"})
    assert not is_suppressed(email="holly@contoso.com")
