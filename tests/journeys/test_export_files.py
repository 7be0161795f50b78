"""An export file is replaced whole: a download never gets half a file while a job rewrites it."""

import pytest
from django.db import connection

from contacts.services import contacts_create
from core.files import written_whole
from journeys import services
from journeys.models import SegmentExport
from journeys.services import segment_exports
from tests.conftest import run_together, wait_for
from tests.factories import make_segment


def test_a_failed_rewrite_leaves_the_previous_file_whole_and_no_temporary_file(tmp_path):
    target = tmp_path / "export.csv"
    target.write_text("id\n1\n2\n")
    with written_whole(target, "w") as out:
        out.write("id\n")
        assert target.read_text() == "id\n1\n2\n"  # readers still get the previous file
        out.write("1\n2\n3\n")
    assert target.read_text() == "id\n1\n2\n3\n"
    with pytest.raises(OSError), written_whole(target, "w") as out:
        out.write("id\n9")
        raise OSError("disk full")
    assert target.read_text() == "id\n1\n2\n3\n"
    assert [p.name for p in tmp_path.iterdir()] == ["export.csv"]
    plain = tmp_path / "plain.csv"
    plain.write_text("")
    assert target.stat().st_mode == plain.stat().st_mode  # readable as any file the worker writes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_run_of_an_export_job_never_serves_half_a_file(marketer, monkeypatch):
    """A redelivered task runs the job twice: the first run to finish marks it done, and the
    download must give its whole file while the second run still writes the same export."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: a run paused mid-file by a row lock")
    import psycopg

    people = [{"first_name": f"P{i}", "email": f"p{i}@example.org", "country": "DE"} for i in range(1000)]
    contacts_create(people=people)
    segment = make_segment({"field": "country", "op": "eq", "value": "DE"}, name="Everyone DE")
    export = SegmentExport.objects.create(segment=segment, requested_by=marketer, format="csv")
    services.segment_export_build(export_id=export.pk)  # the first run
    export.refresh_from_db()
    whole = services.segment_export_path(export).read_bytes()
    assert whole.count(b"\n") == 1001

    monkeypatch.setattr(segment_exports, "PROGRESS_EVERY", 1)  # a progress update (a row write) per row
    # The second run was let in while the first was still running (its status check came first).
    SegmentExport.objects.filter(pk=export.pk).update(status=SegmentExport.Status.RUNNING)
    db = connection.settings_dict
    holder = psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or "postgres",
        dbname=db["NAME"],
    )

    def pause_second_run_mid_file():
        wait_for(
            lambda: SegmentExport.objects.filter(pk=export.pk, written__lt=1000).exists(),
            message="the second run to start writing",
        )
        # The first run finishes and marks the export done, then the second run is held at its
        # next progress update (it has opened its file and written part of it by then).
        SegmentExport.objects.filter(pk=export.pk).update(status=SegmentExport.Status.DONE)
        holder.execute("SELECT 1 FROM journeys_segmentexport WHERE id = %s FOR UPDATE", [export.pk])

        def second_run_waits():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> %s",
                    [holder.info.backend_pid],
                )
                return cursor.fetchone()[0] == 1

        wait_for(second_run_waits, message="the second run to wait mid-file")
        assert SegmentExport.objects.get(pk=export.pk).written < 1000  # really mid-file
        served = services.segment_export_path(SegmentExport.objects.get(pk=export.pk))
        downloaded = served.read_bytes() if served else b""
        holder.rollback()  # the second run goes on
        return downloaded

    try:
        _, downloaded = run_together(
            lambda: services.segment_export_build(export_id=export.pk), pause_second_run_mid_file
        )
    finally:
        holder.close()
    assert downloaded == whole
    export.refresh_from_db()
    assert export.status == SegmentExport.Status.DONE
    assert services.segment_export_path(export).read_bytes() == whole
    assert not [p for p in services.segment_export_path(export).parent.iterdir() if "partial" in p.name]


@pytest.mark.django_db
def test_an_export_reads_its_members_in_batches_and_writes_every_one_once(marketer, settings):
    """At ten million members one query held its snapshot for the whole export: the members are
    read LONG_JOB_BATCH_SIZE at a time after the last id read, and the file is the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.LONG_JOB_BATCH_SIZE = 2
    contacts_create(
        people=[{"first_name": f"P{i}", "email": f"p{i}@example.org", "country": "DE"} for i in range(5)]
    )
    contacts_create(people=[{"first_name": "Elsewhere", "email": "fr@example.org", "country": "FR"}])
    segment = make_segment({"field": "country", "op": "eq", "value": "DE"}, name="Everyone DE")
    export = SegmentExport.objects.create(segment=segment, requested_by=marketer, format="csv")
    with CaptureQueriesContext(connection) as queries:
        services.segment_export_build(export_id=export.pk)
    export.refresh_from_db()
    lines = services.segment_export_path(export).read_text().splitlines()
    assert export.written == 5 and [line.split(",")[1] for line in lines[1:]] == [f"P{i}" for i in range(5)]
    reads = [q["sql"] for q in queries if '"email"' in q["sql"] and "COUNT(" not in q["sql"].upper()]
    assert len(reads) == 3  # 2 + 2 + 1 members, each batch a query of its own
