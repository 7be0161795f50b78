"""The privacy officer's request queue and a request's page in Chromium at 1280 px (issue 20)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dsr.models import DataSubjectRequest
from dsr.services import dsr_assign, dsr_create
from tests.e2e.admin_login import log_in
from tests.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def _officer_page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url)
    expect(
        page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))
    ).to_be_visible()
    return context, page


def _queue(officer):
    """A queue like a real week's: long addresses, every type, overdue and extended requests."""
    now = timezone.now()
    made = []
    for i, (kind, days) in enumerate(
        [("access", 20), ("erase", -3), ("export", 2), ("restrict", 9), ("rectify", -10), ("access", 0)]
    ):
        request, _ = dsr_create(
            kind=kind, email=f"someone.with.a.long.address.{i}@subsidiary.example.org", channel="web"
        )
        DataSubjectRequest.objects.filter(pk=request.pk).update(due_at=now + timedelta(days=days, hours=1))
        made.append(request)
    dsr_assign(requests=made[:4], assignee=officer, actor=officer)
    return made


def test_an_officer_sees_deadline_days_left_and_assignee_without_scrolling_sideways(
    browser, live_server, privacy_officer
):
    made = _queue(privacy_officer)
    context, page = _officer_page(browser, live_server)
    page.goto(f"{live_server.url}/admin/dsr/datasubjectrequest/")
    expect(page.locator("#result_list")).to_be_visible()
    screenshot(page, "request-queue")

    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    width = page.viewport_size["width"]
    for column in ("deadline_display", "days_left", "assignee_display"):
        header = page.locator(f"#result_list th.column-{column}")
        expect(header).to_be_visible()
        box = header.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (column, box)
        cell = page.locator(f"#result_list td.field-{column}").first
        box = cell.bounding_box()
        assert box["x"] + box["width"] <= width, (column, box)
    # Nothing of the table sits under the filter sidebar.
    table, sidebar = (
        page.locator("#result_list").bounding_box(),
        page.locator("#changelist-filter").bounding_box(),
    )
    assert table["x"] + table["width"] <= sidebar["x"] + 1

    # Overdue first: the most overdue request heads the queue.
    references = page.locator("#result_list tbody th.field-reference, #result_list tbody td.field-reference")
    first = references.first.inner_text()
    assert first == made[4].reference, first
    expect(page.locator("#result_list tbody tr").first).to_contain_text("overdue by 10 days")
    expect(page.locator("#result_list tbody tr").nth(1)).to_contain_text("overdue by 3 days")
    expect(page.locator("#result_list tbody tr").nth(1)).to_contain_text("officer")
    context.close()


def test_a_request_page_shows_next_steps_and_what_they_wait_for(browser, live_server, privacy_officer):
    from tests.factories import ContactFactory

    ContactFactory(email="holly@contoso.com")
    request, _ = dsr_create(kind="access", email="holly@contoso.com", channel="web", details="all my data")
    context, page = _officer_page(browser, live_server)
    page.goto(f"{live_server.url}/admin/dsr/datasubjectrequest/{request.pk}/change/")
    steps = page.locator("#next-steps")
    expect(steps).to_be_visible()
    build = steps.locator('[data-step="bundle"]')
    expect(build).to_contain_text("Build the export bundle — waits for identity verification")
    expect(build.get_by_role("button", name="Build the export bundle")).to_be_disabled()
    decline = steps.locator('[data-step="decline"] button')
    colour = decline.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(164, 0, 15)", colour  # destructive: red, unlike the other buttons
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(page, "request-page")

    # Declining asks on a page of its own first.
    steps.locator('[data-step="decline"] input[name="reason"]').fill("manifestly unfounded")
    decline.click()
    expect(page.locator("#confirm-decline")).to_be_visible()
    request.refresh_from_db()
    assert request.status == DataSubjectRequest.Status.NEW
    page.locator("#confirm-decline").click()
    expect(page.locator(".messagelist")).to_contain_text("Saved")
    request.refresh_from_db()
    assert request.status == DataSubjectRequest.Status.DECLINED
    context.close()
