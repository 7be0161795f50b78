"""Cells no database stores: a NUL character past the part of the file sniffed for binary data
becomes a refused row with a message, and the other rows are imported."""

import pytest

from consent.models import PurposeConsent
from imports.models import ImportRowError, ImportRun
from tests.imports.conftest import csv_bytes

pytestmark = pytest.mark.django_db

FILLER = [[str(n), f"p{n}@example.org", "Newsletter", "true", "2026-03-01"] for n in range(1, 2001)]


@pytest.mark.parametrize(
    "bad",
    [
        ["9001", "a\x00b@example.org", "Newsletter", "true", "2026-03-01"],
        ["9001", "nul@example.org", "News\x00letter", "true", "2026-03-01"],
        ["90\x0001", "nul@example.org", "Newsletter", "true", "2026-03-01"],
    ],
    ids=["in-email", "in-option", "in-key"],
)
def test_a_nul_in_a_cell_refuses_that_row_with_a_message(source, run_import, bad):
    content = csv_bytes([*FILLER, bad])
    assert len(content) > 64 * 1024  # past the sniffed sample, which refuses binary files whole
    run = run_import(source, content)
    assert run.status == ImportRun.Status.DONE, run.error
    (error,) = ImportRowError.objects.filter(run=run)
    assert error.row == 2002
    assert "NUL character" in error.reason
    assert "\x00" not in error.source_key
    assert PurposeConsent.objects.filter(contact__email="p2000@example.org", granted=True).exists()
