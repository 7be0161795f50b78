"""Where browser tests leave screenshots for people to look at: the run's folder
(var/test/screenshots under `make test`), not a test's private folder, nor one test process's own
(config/settings_test.py gives each pytest-xdist process a VAR_DIR of its own)."""

import os
from pathlib import Path

from django.conf import settings


def screenshot_folder() -> Path:
    run_folder = os.environ.get("TEST_RUN_VAR_DIR") or os.environ.get("VAR_DIR")
    folder = Path(run_folder or Path(settings.BASE_DIR) / "var" / "test") / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, name: str) -> Path:
    """Photograph the whole page as <name>.png in the run's folder."""
    path = screenshot_folder() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
