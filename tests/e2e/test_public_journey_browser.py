"""Issue 18's whole public journey in a real browser (Chromium, no JavaScript), with the real
broker, a Celery worker and real SMTP: a person who only knows her address gets her link, raises
her consent in German and confirms it, goes back to English, leaves a list from a journey email's
visible link and undoes it, leaves everything with one click, asks for her data and follows the
request's status page to the download.

Each step is a function of its own, run in the order of STEPS, and names what the person sees and
what the database then holds; a new step is one more function in that tuple. Every page is
photographed at 420 px and 1280 px into VAR_DIR/screenshots/ (var/test/screenshots/ under
`make test`).
"""

import re
import zipfile
from dataclasses import dataclass, field

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from consent.models import ConsentChange, PurposeConsent, Source
from consent.services import consent_change
from contacts.models import Contact
from core.models import ComplianceSettings
from dsr.models import DataSubjectRequest
from subscriptions.models import Subscription, SubscriptionList, WordingVersion
from tests.conftest import Inbox, wait_for
from tests.factories import ContactFactory, PurposeFactory, UserFactory, make_journey
from tests.screenshots import screenshot_folder

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "holly@contoso.com"
WIDTHS = (420, 1280)


@dataclass
class Person:
    """Holly: her browser, her inbox, and a camera over her shoulder."""

    page: Page
    inbox: Inbox
    folder: object  # pathlib.Path of the screenshots
    contact: Contact
    news: SubscriptionList
    shots: list = field(default_factory=list)  # the screenshots taken, in order
    journey_email: object = None  # the journey's email, kept as she keeps it in her inbox
    acknowledgement: object = None  # the request's acknowledgement, with its status link
    _read: int = 0  # messages of the inbox already read

    # -- what she sees --------------------------------------------------------------------------
    def photograph(self, name: str) -> None:
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            path = self.folder / f"journey-{len(self.shots) // 2 + 1:02d}-{name}-{width}.png"
            self.page.screenshot(path=str(path), full_page=True)
            self.shots.append(path)

    def sees_heading(self, text: str, *, shot: str) -> None:
        expect(self.page.get_by_role("heading", name=text, exact=True)).to_be_visible()
        self.photograph(shot)

    def sees(self, text: str) -> None:
        expect(self.page.get_by_text(text, exact=False).first).to_be_visible()

    def click(self, button: str) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button, exact=True).click()

    # -- her inbox ------------------------------------------------------------------------------
    def next_email(self, *, about: str):
        """The next message to her whose plain text contains `about` (waits for the worker)."""

        def arrived():
            for index in range(self._read, len(self.inbox.messages)):
                message = self.inbox.messages[index]
                if ADDRESS in message["To"] and about in text_of(message):
                    self._read = index + 1
                    return message
            return None

        return wait_for(arrived, message=f"an email to {ADDRESS} with {about!r}")

    def opens_link_in(self, message, *, containing: str) -> None:
        (link,) = {link for link in re.findall(r"https?://\S+", text_of(message)) if containing in link}
        self.page.goto(link)

    def reads_in_the_mail_client(self, message, *, shot: str) -> None:
        """Show the email's HTML body as her mail client would, to click its visible links."""
        self.page.set_content(message.get_body(preferencelist=("html",)).get_content())
        self.photograph(shot)

    # -- the database ---------------------------------------------------------------------------
    def now(self) -> Contact:
        self.contact.refresh_from_db()
        return self.contact

    def subscription(self) -> str:
        return Subscription.objects.get(contact=self.contact, subscription_list=self.news).status

    def answers(self) -> dict[str, bool]:
        return dict(
            PurposeConsent.objects.filter(contact=self.contact).values_list("purpose__slug", "granted")
        )


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


# --- the steps, in the order a person takes them -----------------------------------------------


def asks_for_her_link(holly: Person, base: str) -> None:
    holly.page.goto(base + "/preferences/")
    holly.sees_heading("Get a link to your privacy choices", shot="way-in")
    holly.sees("Responsible for your data: Contoso Ltd")
    holly.page.get_by_label("Your email address").fill(ADDRESS)
    holly.click("Email me my link")
    holly.sees_heading("Check your inbox", shot="way-in-sent")
    assert "holly" not in holly.page.url  # no personal data in the address bar

    holly.opens_link_in(holly.next_email(about="/preferences/"), containing="/preferences/")
    holly.sees_heading("Your subscription center", shot="center")
    assert holly.page.url == base + "/preferences/"  # the token left the address bar
    expect(holly.page.get_by_label("First name")).to_have_value("Holly")


def de(english: str) -> str:
    """The German the product shows for one of its English strings (the shipped catalogue)."""
    with translation.override("de"):
        return gettext(english)


def raises_her_consent_in_german_and_confirms_it(holly: Person, base: str) -> None:
    holly.page.get_by_label("Language", exact=True).select_option("de")
    holly.click("Change language")  # the switcher: this browser now reads German
    holly.sees_heading(de("Your subscription center"), shot="center-de")
    assert holly.page.locator("html").get_attribute("lang") == "de"

    holly.page.get_by_label(de("Language of our pages and emails")).select_option("de")  # and her mail
    holly.page.get_by_role("group", name="Newsletter", exact=True).get_by_label(de("Yes")).check()
    holly.page.get_by_label("Monthly news", exact=False).check()
    holly.click(de("Save my choices"))
    holly.sees_heading(de("Please confirm from your inbox"), shot="center-saved-waiting-de")
    assert holly.answers() == {} and not Subscription.objects.filter(contact=holly.contact).exclude(
        status=Subscription.Status.PENDING
    )  # nothing widened before she confirms
    assert holly.now().language == "de"

    mail = holly.next_email(about="/confirm/")
    assert 'lang="de"' in mail.get_body(preferencelist=("html",)).get_content()  # her language
    holly.opens_link_in(mail, containing="/confirm/")
    holly.sees_heading(de("Please confirm"), shot="confirm-de")
    holly.sees("Monthly news")
    holly.click(de("Yes, I confirm"))
    holly.sees_heading(de("Thank you, confirmed"), shot="confirmed-de")
    assert holly.answers() == {"newsletter": True}
    assert holly.subscription() == Subscription.Status.SUBSCRIBED
    assert holly.now().consent_given == 4
    # The evidence keeps the German wording she was shown and agreed to.
    record = ConsentChange.objects.filter(contact=holly.contact, source=Source.DOUBLE_OPT_IN).latest("id")
    assert WordingVersion.objects.get(digest=record.evidence["wording"]).content["language"] == "de"


def goes_back_to_english(holly: Person, base: str) -> None:
    holly.page.goto(base + "/preferences/")
    holly.page.get_by_label(de("Language"), exact=True).select_option("en")
    holly.click(de("Change language"))
    holly.page.get_by_label("Language of our pages and emails").select_option("en")
    holly.click("Save my choices")
    holly.sees_heading("Your language is saved", shot="language-saved")
    assert holly.now().language == "en" and holly.answers() == {"newsletter": True}  # consent untouched


def unsubscribes_from_a_journey_email(holly: Person, base: str) -> None:
    from journeys.tasks import run_journeys

    run_journeys.delay()  # the beat's job, on the worker: the product's real send path
    mail = holly.next_email(about="Hello Holly!")
    holly.journey_email = mail
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    holly.reads_in_the_mail_client(mail, shot="journey-email")
    holly.page.get_by_role("link", name="Unsubscribe", exact=True).click()
    holly.sees_heading("Unsubscribe from “Monthly news”", shot="unsubscribe")
    holly.click("Unsubscribe me")
    holly.sees_heading("You are unsubscribed", shot="unsubscribed")
    holly.sees("You will receive nothing more from “Monthly news”.")
    assert holly.subscription() == Subscription.Status.UNSUBSCRIBED
    assert holly.now().consent_given == 4  # leaving one list is not leaving everything


def undoes_the_unsubscribe(holly: Person, base: str) -> None:
    holly.click("Undo: join “Monthly news” again")
    holly.sees_heading("Check your inbox", shot="rejoin-sent")
    assert holly.subscription() == Subscription.Status.PENDING  # back only once she confirms

    holly.opens_link_in(holly.next_email(about="/confirm/"), containing="/confirm/")
    holly.click("Yes, I confirm")
    holly.sees_heading("Thank you, confirmed", shot="rejoin-confirmed")
    assert holly.subscription() == Subscription.Status.SUBSCRIBED


def leaves_everything_with_one_click(holly: Person, base: str) -> None:
    holly.reads_in_the_mail_client(holly.journey_email, shot="journey-email-again")
    holly.page.get_by_role("link", name="Manage your preferences").click()
    holly.sees_heading("Your subscription center", shot="center-before-leaving")
    holly.click("Unsubscribe from everything")
    holly.sees_heading("You left everything", shot="left-everything")
    holly.sees("Monthly news")  # the lists she left, by name
    contact = holly.now()
    assert (contact.consent_given, contact.tracking_allowed) == (2, False)  # transactional only
    assert holly.answers() == {"newsletter": False}
    assert holly.subscription() == Subscription.Status.UNSUBSCRIBED


def asks_for_her_data_and_confirms(holly: Person, base: str) -> None:
    holly.page.get_by_role("link", name="Ask for a copy of your data", exact=False).click()
    holly.sees_heading("Your data, your rights", shot="request-form")
    holly.page.get_by_label("Send me a copy of my data").check()
    holly.page.get_by_label("Your email address").fill(ADDRESS)
    holly.click("Send request")
    holly.sees_heading("Check your inbox", shot="request-sent")
    assert not DataSubjectRequest.objects.exists()  # not before she proves the address is hers

    holly.opens_link_in(holly.next_email(about="/requests/confirm/"), containing="/requests/confirm/")
    holly.sees_heading("Confirm your request", shot="request-confirm")
    holly.click("Yes, this is my request")
    holly.sees_heading("We have your request", shot="request-confirmed")
    request = DataSubjectRequest.objects.get()
    holly.sees(request.reference)
    assert (request.kind, request.status) == ("access", "verified")
    assert list(request.contacts.all()) == [holly.contact]
    holly.acknowledgement = holly.next_email(about=request.reference)


def follows_her_request_to_the_download(holly: Person, base: str) -> None:
    from dsr.bundles import bundle_create, bundle_release
    from dsr.models import ExportBundle

    holly.opens_link_in(holly.acknowledgement, containing="/requests/status/")
    request = DataSubjectRequest.objects.get()
    holly.sees_heading(f"Your request {request.reference}", shot="request-status")
    holly.sees("Received and confirmed")
    assert "/requests/status/" in holly.page.url and "holly" not in holly.page.url
    status_page = holly.page.url

    officer = UserFactory(username="olga")  # the officer builds, reviews and releases her package
    bundle = bundle_create(request=request, actor=officer)
    wait_for(
        lambda: ExportBundle.objects.get(pk=bundle.pk).status == ExportBundle.Status.REVIEW,
        message="the bundle",
    )
    bundle_release(bundle=ExportBundle.objects.get(pk=bundle.pk), actor=officer)
    holly.next_email(about="/requests/download/")  # told that it is ready

    holly.page.goto(status_page)
    holly.sees_heading("Your data is ready", shot="request-status-ready")
    holly.page.get_by_role("link", name="Download your data").click()
    holly.sees_heading("Your data is ready", shot="download")
    with holly.page.expect_download() as download:
        holly.page.get_by_role("button", name="Download", exact=True).click()
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert names[0].startswith("summary")  # the readable summary first, then the data


STEPS = (
    asks_for_her_link,
    raises_her_consent_in_german_and_confirms_it,
    goes_back_to_english,
    unsubscribes_from_a_journey_email,
    undoes_the_unsubscribe,
    leaves_everything_with_one_click,
    asks_for_her_data_and_confirms,
    follows_her_request_to_the_download,
)


@pytest.fixture
def holly(page, live_server, smtp_server, celery_worker, settings, logging_on):
    organisation = ComplianceSettings.load()
    organisation.organisation_name = "Contoso Ltd"
    organisation.privacy_contact_email = "privacy@contoso.example"
    organisation.save()
    newsletter = PurposeFactory(name="Newsletter", slug="newsletter", description="Our monthly news.")
    news = SubscriptionList.objects.create(
        name="Monthly news", slug="monthly-news", description="One email a month.", purpose=newsletter
    )
    make_journey(steps=("email",), subscription_list=news)  # "Welcome": Newsletter yes, in Germany
    contact = ContactFactory(first_name="Holly", email=ADDRESS, country="DE")
    consent_change(contact=contact, level=4, source=Source.IMPORT)  # Marketing, no purpose answer yet

    folder = screenshot_folder()
    celery_worker.env.update(
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}", PUBLIC_BASE_URL=live_server.url
    )
    celery_worker.start()
    return Person(page=page, inbox=smtp_server, folder=folder, contact=contact, news=news)


def test_a_person_who_only_knows_her_address_finds_her_way_in_and_out(holly, live_server):
    for step in STEPS:
        step(holly, live_server.url)
    assert all(shot.stat().st_size for shot in holly.shots)  # every page she saw, at both widths
    # One email per thing she asked for: her link, two confirmations, the journey's, the request's
    # link, its acknowledgement and the news that her data is ready; none twice.
    assert len([m for m in holly.inbox.messages if ADDRESS in m["To"]]) == 7
