"""Every state a member of the public can see, reached the way a person reaches it: by following
the links our emails carry (through real SMTP, tasks run in-process) and by clicking the forms.

STATES maps a name to a function that takes a Scene and leaves its page showing that state. The
accessibility tests visit each one; other browser tests may reuse them.
"""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlparse

from django.utils import timezone
from playwright.sync_api import Page, expect

from consent.models import Source
from consent.services import consent_change
from contacts.models import Contact
from core.models import ComplianceSettings
from subscriptions.models import AccessToken, Subscription, SubscriptionList
from subscriptions.services import center_link, unsubscribe_link
from subscriptions.services.links import leave_link
from tests.factories import ContactFactory, PurposeFactory, UserFactory, make_journey


@dataclass
class Scene:
    """Holly, at Marketing, on the list "Monthly news", with the organisation's details set."""

    page: Page
    base: str
    inbox: object  # tests.conftest.Inbox
    holly: Contact
    news: SubscriptionList

    def go(self, path: str, *, status: int | None = None):
        response = self.page.goto(self.base + path)
        if status is not None:
            assert response.status == status, f"{path}: HTTP {response.status}, expected {status}"
        return response

    def path_of(self, link: str) -> str:
        return urlparse(link).path

    def emailed(self, fragment: str) -> str:
        """The path of the newest link containing `fragment` in Holly's inbox."""
        links = [link for link in self.inbox.links("holly@contoso.com") if fragment in link]
        assert links, f"no email to Holly with a {fragment} link"
        return self.path_of(links[-1])

    def fill(self, name: str, value: str):
        self.page.locator(f"main [name={name}]").fill(value)

    def submit(self, selector: str = "main form button[type=submit]", *, status: int = 200):
        """Click a button (found by structure, not wording: the states serve every language) and
        wait for the page it loads."""
        with self.page.expect_navigation() as navigation:
            self.page.locator(selector).click()
        got = navigation.value.status
        assert got == status, f"{selector}: HTTP {got}, expected {status}"

    def shows(self, selector: str):
        expect(self.page.locator(selector).first).to_be_visible()


def scene_build(page: Page, base: str, inbox) -> Scene:
    organisation = ComplianceSettings.load()
    organisation.organisation_name = "Contoso Ltd"
    organisation.privacy_contact_email = "privacy@contoso.example"
    organisation.log_consent_changes = True
    organisation.export_needs_second_officer = False
    organisation.save()
    newsletter = PurposeFactory(name="Newsletter", slug="newsletter", description="Our monthly news.")
    news = SubscriptionList.objects.create(
        name="Monthly news",
        slug="monthly-news",
        description="One email a month.",
        purpose=newsletter,
        min_level=3,
        public=True,
    )
    holly = ContactFactory(first_name="Holly", email="holly@contoso.com", country="DE")
    consent_change(contact=holly, level=4, purposes={"newsletter": True}, source=Source.IMPORT)
    Subscription.objects.create(contact=holly, subscription_list=news, status="subscribed", source="import")
    return Scene(page=page, base=base, inbox=inbox, holly=holly, news=news)


def _expire_links(kind: str) -> None:
    AccessToken.objects.filter(kind=kind).update(expires_at=timezone.now() - timedelta(minutes=1))


# --- the way in and sign-up ---------------------------------------------------------------------

WAY_IN_FORM = "form[action$='/preferences/link/'] button"
CENTER_FORM = "main form[novalidate] button[type=submit]"  # the choices, not the resend or leave forms


def way_in(s: Scene):
    s.go("/preferences/", status=200)
    s.shows("input[name=email]")


def way_in_with_error(s: Scene):
    way_in(s)
    s.fill("email", "not an address")
    s.submit(WAY_IN_FORM, status=400)
    s.shows(".errorlist")


def way_in_sent(s: Scene):
    way_in(s)
    s.fill("email", "holly@contoso.com")
    s.submit(WAY_IN_FORM)
    s.shows("main [role=status]")


def signup(s: Scene):
    s.go("/lists/monthly-news/", status=200)
    s.shows("input[name=agree]")


def signup_with_errors(s: Scene):
    signup(s)
    s.fill("email", "not an address")
    s.submit()
    s.shows(".errorlist")


def signup_sent(s: Scene):
    signup(s)
    s.fill("email", "nia@example.org")
    s.page.locator("input[name=agree]").check()
    s.submit()
    s.shows("main [role=status]")


# --- the subscription center --------------------------------------------------------------------


def center(s: Scene):
    s.go(s.path_of(center_link(contact=s.holly)), status=200)
    s.shows("input[name=consent_given]")


def center_saved_waiting(s: Scene):
    center(s)
    s.page.locator("input[name=consent_given][value='5']").check()  # Profiling: waits for the inbox
    s.submit(CENTER_FORM)
    s.shows("main ul.waiting")


def center_with_pending_raise(s: Scene):
    center_saved_waiting(s)
    with s.page.expect_navigation():
        s.page.locator("main a[href='/preferences/']").click()
    s.shows("#waiting-heading")


def center_saved_applied(s: Scene):
    center(s)
    s.page.locator(f"input[name=lists][value='{s.news.pk}']").uncheck()  # leaving applies at once
    s.submit(CENTER_FORM)
    s.shows("main ul.applied")


def center_with_errors(s: Scene):
    center(s)
    s.fill("email", "not an address")
    s.submit(CENTER_FORM)
    s.shows(".errorlist")


def center_rejoin_sent(s: Scene):
    center_saved_applied(s)
    s.submit("form[action$='/preferences/rejoin/'] button")
    s.shows("main [role=status]")


def center_left_everything(s: Scene):
    center(s)
    s.submit("button[value=leave_everything]")
    s.shows("main [role=status]")


def center_visit_ended(s: Scene):
    center(s)
    # The session ends (its cookie gone, as after the hour); the CSRF cookie stays, as it does.
    context = s.page.context
    kept = [cookie for cookie in context.cookies() if cookie["name"] != "sessionid"]
    context.clear_cookies()
    context.add_cookies(kept)
    s.submit(CENTER_FORM, status=403)
    s.shows("main .notice")


# --- confirmation links -------------------------------------------------------------------------


def confirm(s: Scene):
    center_saved_waiting(s)
    s.go(s.emailed("/confirm/"), status=200)
    s.shows("button[value=confirm]")


def confirmed(s: Scene):
    confirm(s)
    s.submit("button[value=confirm]")
    s.shows("nav.onward")


def confirm_expired(s: Scene):
    center_saved_waiting(s)
    _expire_links(AccessToken.Kind.CONFIRM)
    s.go(s.emailed("/confirm/"), status=410)
    s.shows("button[value=renew]")


def confirm_renewed(s: Scene):
    confirm_expired(s)
    s.submit("button[value=renew]")
    s.shows("nav.onward")


def link_invalid(s: Scene):
    s.go("/preferences/not-a-link-of-ours/", status=400)


def link_expired(s: Scene):
    path = s.path_of(center_link(contact=s.holly))
    _expire_links(AccessToken.Kind.CENTER)
    s.go(path, status=410)


# --- the way out --------------------------------------------------------------------------------


def unsubscribe(s: Scene):
    s.go(s.path_of(unsubscribe_link(contact=s.holly, subscription_list=s.news)), status=200)
    s.shows("main form button")


def unsubscribed(s: Scene):
    unsubscribe(s)
    s.submit()
    s.shows("form[action$='/undo/'] button")


def rejoin_sent(s: Scene):
    unsubscribed(s)
    s.submit("form[action$='/undo/'] button")
    s.shows("main [role=status]")


def leave(s: Scene):
    s.go(s.path_of(leave_link(contact=s.holly)), status=200)
    s.shows("main form button")


def left_everything(s: Scene):
    leave(s)
    s.submit()
    s.shows("main [role=status]")


# --- data subject requests ----------------------------------------------------------------------


# The request page has two forms: the country (GET, sets the law) and the request itself.
REQUEST_FORM = "main form[method=post] button[type=submit]"


def request_form(s: Scene):
    s.go("/requests/", status=200)
    s.shows("input[name=kind]")


def request_form_with_errors(s: Scene):
    request_form(s)
    s.submit(REQUEST_FORM)
    s.shows(".errorlist")


def _request_kind(s: Scene, kind: str = "access"):
    s.page.locator(f"input[name=kind][value={kind}]").check()


def request_sent(s: Scene):
    request_form(s)
    _request_kind(s)
    s.fill("email", "holly@contoso.com")
    s.submit(REQUEST_FORM)
    s.shows("nav.onward")


def request_by_phone(s: Scene):
    request_form(s)
    _request_kind(s)
    s.fill("phone", "+49 30 1234567")
    s.submit(REQUEST_FORM)
    s.shows("nav.onward")


def request_confirm(s: Scene):
    request_sent(s)
    s.go(s.emailed("/requests/confirm/"), status=200)
    s.shows("main form button")


def request_confirmed(s: Scene):
    request_confirm(s)
    s.submit()
    s.shows("main strong")  # the request's reference


def request_link_invalid(s: Scene):
    s.go("/requests/confirm/not-a-link-of-ours/", status=400)


def request_status(s: Scene):
    request_confirmed(s)
    s.go(s.emailed("/requests/status/"), status=200)
    s.shows("dl.status")


def request_status_link_invalid(s: Scene):
    s.go("/requests/status/not-a-link-of-ours/", status=404)


def download(s: Scene):
    from dsr.bundles import bundle_create, bundle_release
    from dsr.models import ExportBundle
    from dsr.services import dsr_create, dsr_verify

    officer = UserFactory(username="officer")
    request, _ = dsr_create(kind="access", email="holly@contoso.com", channel="web")
    request = dsr_verify(request=request, actor=officer, how="reply from the address")
    bundle_create(request=request, actor=officer)  # built at once: tasks run in-process here
    link = bundle_release(bundle=ExportBundle.objects.get(request=request), actor=officer)
    s.go(s.path_of(link), status=200)
    s.shows("main form button")


def download_link_invalid(s: Scene):
    s.go("/requests/download/not-a-link-of-ours/", status=400)


def too_many_requests(s: Scene):
    for _attempt in range(40):  # a page limited on GET too: 10 a minute per client
        if s.go("/requests/download/not-a-link-of-ours/").status == 429:
            return
    raise AssertionError("the rate limit never answered 429")


# --- journeys -----------------------------------------------------------------------------------


def _forward_path(s: Scene) -> str:
    from journeys.services import journeys_run

    make_journey(steps=("email",), subscription_list=s.news)
    journeys_run()
    return s.emailed("/forward/")


def forward(s: Scene):
    s.go(_forward_path(s), status=200)
    s.shows("input[name=friend_email]")


def forward_with_errors(s: Scene):
    forward(s)
    s.fill("friend_email", "not an address")
    s.submit()
    s.shows(".errorlist")


def forward_sent(s: Scene):
    forward(s)
    s.fill("friend_email", "friend@example.org")
    s.submit()
    s.shows("main h1")


def tracked_link_invalid(s: Scene):
    s.go("/t/c/not-a-link-of-ours/", status=404)
    s.shows("main h1")


def privacy_choices(s: Scene):
    """ "Do Not Sell or Share" and "Limit the Use of My Sensitive Personal Information", for anyone."""
    s.go("/privacy-choices/", status=200)
    s.shows("input[name=opt_out]")


STATES = {
    function.__name__.replace("_", "-"): function
    for function in (
        way_in,
        way_in_with_error,
        way_in_sent,
        signup,
        signup_with_errors,
        signup_sent,
        center,
        center_saved_waiting,
        center_with_pending_raise,
        center_saved_applied,
        center_with_errors,
        center_rejoin_sent,
        center_left_everything,
        center_visit_ended,
        confirm,
        confirmed,
        confirm_expired,
        confirm_renewed,
        link_invalid,
        link_expired,
        unsubscribe,
        unsubscribed,
        rejoin_sent,
        leave,
        left_everything,
        request_form,
        request_form_with_errors,
        request_sent,
        request_by_phone,
        request_confirm,
        request_confirmed,
        request_link_invalid,
        request_status,
        request_status_link_invalid,
        download,
        download_link_invalid,
        too_many_requests,
        forward,
        forward_with_errors,
        forward_sent,
        tracked_link_invalid,
        privacy_choices,
    )
}
