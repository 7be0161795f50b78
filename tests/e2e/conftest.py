import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        reason = "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI must run the browser tests, never skip them
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    # between browser steps are ordinary synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(java_script_enabled=False)  # the public pages need no script
    page = context.new_page()
    yield page
    context.close()


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def axe_script():
    """axe-core's axe.min.js, installed from the npm registry by `npm ci` (package-lock.json)."""
    if not AXE.is_file():
        reason = f"axe-core is not installed ({AXE} is missing): run `npm ci`; .ci/run does"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI must measure accessibility, never skip it
        pytest.skip(reason)
    return str(AXE)


@pytest.fixture
def page_in(browser):
    """page_in(language): a page whose browser asks for `language` (Accept-Language) and runs
    script, for the measuring tools the tests inject; the pages themselves ship none."""
    contexts = []

    def open_page(language: str = "en"):
        context = browser.new_context(
            java_script_enabled=True,
            bypass_csp=True,  # the product's CSP allows no inline script; the injected tools are ours
            locale=language,
            extra_http_headers={"Accept-Language": language},
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
