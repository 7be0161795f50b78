"""Signing in to the admin in a browser, waiting for the page the sign-in loads.

A `goto` issued while the login POST is still in flight cancels it, so a test that clicks
"Log in" and moves on at once lands on the login page now and then (a flaky test is a false
proof): every browser test signs in here.
"""

PASSWORD = "correct-horse-battery-staple"


def log_in(page, base: str, username: str = "officer", password: str = PASSWORD) -> None:
    page.goto(f"{base}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
