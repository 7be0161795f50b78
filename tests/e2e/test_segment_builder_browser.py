"""Issue 20, scopes 1 and 2, in Chromium at 1280 px: a marketer builds "Newsletter yes, level at
least Marketing, country Germany" by clicking, sees the eligibility selector's count as she goes,
and launches the journey from its own page; the steps fit the page. The builder also works with
script switched off. Screenshots land in VAR_DIR/screenshots/ (var/test/screenshots/ under
`make test`)."""

import pytest
from playwright.sync_api import expect

from consent.models import Source
from consent.selectors import eligible_contacts
from consent.services import consent_change
from contacts.models import Contact
from contacts.services import contact_update
from journeys.models import Journey, Segment
from journeys.rules import rules_to_q
from journeys.selectors import journey_reach
from tests.e2e.admin_login import log_in as sign_in
from tests.factories import ContactFactory, PurposeFactory, make_journey
from tests.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

WANTED = {
    "all": [
        {"purpose": "newsletter", "value": True},
        {"field": "consent_level", "op": "gte", "value": 4},
        {"field": "country", "op": "eq", "value": "DE"},
    ]
}


@pytest.fixture
def member(db):
    newsletter = PurposeFactory(slug="newsletter", name="Newsletter")

    def make(level=4, newsletter_yes=True, country="DE", **fields):
        contact = ContactFactory(country=country, **fields)
        consent_change(
            contact=contact, level=level, purposes={newsletter: newsletter_yes}, source=Source.IMPORT
        )
        return contact

    return make


@pytest.fixture
def audience(member):
    """Three who belong, and one each who fails one condition or may not be processed at all."""
    for name in ("Anna", "Ben", "Clara"):
        member(first_name=name)
    member(first_name="Low", level=3)
    member(first_name="Nope", newsletter_yes=False)
    member(first_name="Franz", country="AT")
    contact_update(contact=member(first_name="Restricted"), processing_restricted=True)
    return eligible_contacts(min_level=0, queryset=Contact.objects.filter(rules_to_q(WANTED))).count()


def log_in(browser, live_server, *, script=True):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=script)
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    sign_in(page, live_server.url, "marketer")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    return context, page, problems


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_marketer_builds_the_segment_by_clicking_and_launches_the_journey(
    browser, live_server, marketer, audience
):
    context, page, problems = log_in(browser, live_server)
    page.goto(f"{live_server.url}/admin/journeys/segment/add/")
    page.get_by_label("Name:").fill("Newsletter, Marketing, Germany")
    builder = page.locator("#segment-builder")

    def updated_after(action):
        before = builder.get_attribute("data-updated") or "0"
        action()
        expect(builder).not_to_have_attribute("data-updated", before)

    page.get_by_label("Field of row 1").select_option(label="Newsletter")
    page.get_by_label("Operator of row 1").select_option(label="answered yes")
    updated_after(lambda: page.get_by_role("button", name="Add row").click())
    page.get_by_label("Field of row 2").select_option(label="Consent level")
    expect(page.get_by_label("Value of row 2")).to_be_hidden()  # a level is picked by name
    page.get_by_label("Operator of row 2").select_option(label="is at least")
    updated_after(lambda: page.get_by_label("Consent level of row 2").select_option(label="Marketing"))
    page.get_by_role("button", name="Add row").click()
    page.get_by_label("Field of row 3").select_option(label="Country")
    expect(page.get_by_label("Operator of row 3").locator("option[value=gte]")).to_be_disabled()
    page.get_by_label("Operator of row 3").select_option(label="is")
    updated_after(lambda: page.get_by_label("Value of row 3").fill("Germany"))

    expect(page.locator("#segment-count")).to_have_text(str(audience))
    preview = page.locator("#segment-preview tbody")
    expect(preview).to_contain_text("Anna")
    for absent in ("Low", "Nope", "Franz", "Restricted"):
        expect(preview).not_to_contain_text(absent)
    assert fits(page)
    screenshot(page, "segment-builder-1280")

    # A mistake is shown beside its row as it is made, and goes when it is put right.
    page.get_by_label("Value of row 3").fill("Deutschland")
    expect(page.locator("tbody[data-row='3'] .errorlist")).to_contain_text("two-letter code")
    expect(preview).not_to_contain_text("Anna")  # no stale members beside a mistake
    screenshot(page, "segment-builder-row-error-1280")
    page.get_by_label("Value of row 3").fill("DE")
    expect(page.locator("tbody[data-row='3'] .errorlist")).to_have_count(0)

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    segment = Segment.objects.get(name="Newsletter, Marketing, Germany")
    assert segment.rules == WANTED

    journey = make_journey(segment=segment, live=False, steps=("email", "wait", "task"), name="Welcome")
    page.goto(f"{live_server.url}/admin/journeys/journey/{journey.pk}/change/")
    reach = journey_reach(journey)["to_enrol"]
    go_live = page.locator(".journey-lifecycle li", has=page.get_by_role("button", name="Go live"))
    expect(go_live).to_contain_text(f"Enrols the {reach} contacts")
    expect(page.locator(".journey-lifecycle li", has=page.get_by_role("button", name="End"))).to_be_visible()
    screenshot(page, "journey-draft-1280")
    assert fits(page), "the journey's page, steps included, scrolls sideways at 1280 px"

    page.get_by_role("button", name="Go live").click()
    expect(page.locator(".messagelist")).to_contain_text("is live")
    journey.refresh_from_db()
    assert journey.status == Journey.Status.LIVE
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    assert fits(page)
    screenshot(page, "journey-live-1280")
    assert [p for p in problems if "Content Security Policy" in p] == []
    context.close()


def test_the_builder_works_without_script(browser, live_server, marketer, audience):
    context, page, _problems = log_in(browser, live_server, script=False)
    page.goto(f"{live_server.url}/admin/journeys/segment/add/")
    page.get_by_label("Name:").fill("No script")
    page.get_by_label("Field of row 1").select_option(label="Newsletter")
    page.get_by_label("Operator of row 1").select_option(label="answered yes")
    page.get_by_role("button", name="Add row").click()
    page.get_by_label("Field of row 2").select_option(label="Consent level")
    page.get_by_label("Operator of row 2").select_option(label="is at least")
    page.get_by_label("Consent level of row 2").select_option(label="Marketing")
    page.get_by_role("button", name="Add row").click()
    page.get_by_label("Field of row 3").select_option(label="Country")
    page.get_by_label("Operator of row 3").select_option(label="is")
    page.get_by_label("Value of row 3").fill("DE")
    page.get_by_role("button", name="Update count").click()
    expect(page.locator("#segment-count")).to_have_text(str(audience))
    assert not Segment.objects.filter(name="No script").exists()
    screenshot(page, "segment-builder-no-script-1280")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    assert Segment.objects.get(name="No script").rules == WANTED
    context.close()
