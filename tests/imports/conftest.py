"""Import tests: files as the organisation's other systems write them, run through the real start path."""

import io

import pytest
from django.core.files.base import ContentFile
from openpyxl import Workbook

from consent.models import Purpose
from imports.models import ImportRun, ImportSource
from imports.services import import_run_start

HEADER = ["Consent ID", "Email", "Consent option", "Consent value", "Date"]
ISSUE_ROWS = [
    ["1", "holly@contoso.com", "Newsletter", "False", "2026-03-01"],
    ["2", "holly@contoso.com", "Product updates", "True", "2026-03-01"],
]


def csv_bytes(rows, *, header=HEADER, delimiter=",", encoding="utf-8") -> bytes:
    lines = [delimiter.join(header), *(delimiter.join(r) for r in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows, *, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORT_DROP_DIR = tmp_path / "drop"
    settings.IMPORT_DROP_DIR.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def purposes(db):
    return {
        "newsletter": Purpose.objects.create(name="Newsletter", slug="newsletter"),
        "product-updates": Purpose.objects.create(name="Product updates", slug="product-updates"),
    }


@pytest.fixture
def source(db, purposes):
    return ImportSource.objects.create(
        name="Web shop",
        key_column="Consent ID",
        email_column="Email",
        option_column="Consent option",
        value_column="Consent value",
        date_column="Date",
    )


@pytest.fixture
def eager():
    from config.celery import app

    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = False, False


@pytest.fixture
def run_import(eager, django_capture_on_commit_callbacks):
    """Start an import the way the admin does and let its task run once the upload commits."""

    def start(source, content: bytes, *, name="export.csv", mode=ImportRun.Mode.VALID_ROWS, actor=None):
        with django_capture_on_commit_callbacks(execute=True):
            run = import_run_start(
                source=source, file=ContentFile(content), file_name=name, mode=mode, actor=actor
            )
        run.refresh_from_db()
        return run

    return start
