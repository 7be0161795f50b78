"""Export bundles for access and portability requests (GDPR Art. 15, 20).

build (a Celery job with progress) → a snapshot of every registered row about the person, on disk
outside the web root → the officer reviews it and redacts items with a reason (e.g. another
person's data, Art. 15(4)) → a second officer confirms when the compliance settings ask for it →
release writes the ZIP (JSON + CSV per model, one XLSX, a README describing the schema) and emails
the requester a signed, expiring link; each download is logged.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import registry, tokens
from core.connection_loss import on_a_new_connection
from core.files import written_whole
from core.links import absolute
from core.models import ComplianceSettings
from core.safe_json import check_text
from dsr import bundle_rows
from dsr.bundle_zip import columns_of, zip_write  # noqa: F401 (columns_of: the admin shows them)
from dsr.models import DataSubjectRequest, ExportBundle

Status = ExportBundle.Status
LINK_KIND = "dsr-bundle"
MAX_DOWNLOADS = 5
NOT_EXPORTED = bundle_rows.NOT_EXPORTED  # secrets and machinery (dsr.bundle_rows)


def bundle_dir(bundle: ExportBundle) -> Path:
    return Path(settings.VAR_DIR) / "exports" / f"bundle-{bundle.pk}"


# --- lifecycle ----------------------------------------------------------------------------------


@transaction.atomic
def bundle_create(*, request: DataSubjectRequest, actor) -> ExportBundle:
    """Queue the build of a bundle for a verified access or portability request."""
    if request.kind not in (DataSubjectRequest.Kind.ACCESS, DataSubjectRequest.Kind.EXPORT):
        raise ValidationError(_("Only an access or portability request gets an export bundle."))
    if request.verified_at is None or not request.is_open:
        raise ValidationError(_("Export bundles are built for open requests with a verified requester."))
    if not request.contacts.exists():
        raise ValidationError(_("No contact is linked to this request: link one first (Discover data)."))
    bundle = ExportBundle.objects.create(request=request, created_by=actor, total=len(registry.entries()))
    from dsr.tasks import build_bundle

    transaction.on_commit(lambda: build_bundle.delay(bundle.pk))
    return bundle


WITHDRAWN = "Withdrawn: the person's data was erased."
STALE_AFTER = timedelta(minutes=10)  # a build without a heartbeat for this long has lost its worker


def bundle_build(*, bundle_id: int) -> bool:
    """Collect the snapshot. Safe to rerun: a finished bundle is left alone, a build another worker
    is still running (fresh heartbeat) too; a crashed one is redone from the start."""
    bundle = _build_claim(bundle_id, now=timezone.now())
    if bundle is None:
        return False
    try:
        _snapshot_write(bundle)
    except DatabaseError:
        # The connection is gone. This attempt's fresh heartbeat would keep the task's retry out
        # until STALE_AFTER, so the build is handed back (on a new connection) for the retry to
        # start afresh; if the database is still away, the sweeper resumes it later.
        on_a_new_connection(
            lambda: ExportBundle.objects.filter(pk=bundle_id, status=Status.BUILDING).update(
                status=Status.QUEUED, progress=0, heartbeat_at=None
            )
        )
        raise
    except Exception as error:
        ExportBundle.objects.filter(pk=bundle_id).update(status=Status.FAILED, error=type(error).__name__)
        raise
    return _build_finish(bundle_id)


def _build_claim(bundle_id: int, *, now) -> ExportBundle | None:
    """Mark the bundle as building by this worker, or None when there is nothing to build: done,
    revoked (its person was erased), or another worker's build is alive (fresh heartbeat)."""
    with transaction.atomic():
        bundle = ExportBundle.objects.select_for_update().filter(pk=bundle_id).first()
        if bundle is None or bundle.status not in (Status.QUEUED, Status.BUILDING, Status.FAILED):
            return None
        if bundle.revoked_at is not None:
            return None
        if (
            bundle.status == Status.BUILDING
            and bundle.heartbeat_at
            and bundle.heartbeat_at > now - STALE_AFTER
        ):
            return None
        bundle.status, bundle.progress, bundle.error, bundle.heartbeat_at = Status.BUILDING, 0, "", now
        bundle.save(update_fields=["status", "progress", "error", "heartbeat_at"])
    return bundle


def _snapshot_write(bundle: ExportBundle) -> None:
    """One section per registered model, progress and heartbeat after each, then the file whole."""
    contacts = list(bundle.request.contacts.all())
    ids = [contact.pk for contact in contacts]
    zone = bundle_rows.person_zone(contacts)
    sections = []
    for done, entry in enumerate(registry.entries(), start=1):
        if entry.export:
            rows = bundle_rows.export_rows(entry, entry.export(entry.rows_for_ids(ids)), zone)
        else:
            rows = bundle_rows.default_rows(entry, ids, zone)
        sections.append(
            {
                "section": entry.model._meta.label_lower,
                "title": str(entry.model._meta.verbose_name).capitalize(),
                "personal_fields": list(entry.fields),
                "headings": bundle_rows.headings(entry.model, rows),
                "time_zone": str(zone),
                "rows": rows,
            }
        )
        ExportBundle.objects.filter(pk=bundle.pk).update(progress=done, heartbeat_at=timezone.now())
    folder = bundle_dir(bundle)
    folder.mkdir(parents=True, exist_ok=True)
    # A crash, or a second build taking over a stale one, never leaves half a snapshot.
    with written_whole(folder / "snapshot.json", "w") as out:
        out.write(json.dumps({"sections": sections}, ensure_ascii=False))


def _build_finish(bundle_id: int) -> bool:
    """Hand the snapshot to review, unless an erasure revoked the bundle meanwhile."""
    with transaction.atomic():
        # Under the row lock an erasure also takes: one that committed while this build read the
        # person's rows has revoked the bundle, and the snapshot just written must not stay.
        locked = ExportBundle.objects.select_for_update().get(pk=bundle_id)
        if locked.revoked_at is not None:
            bundle_files_delete([locked])
            locked.status, locked.error, locked.heartbeat_at = Status.FAILED, WITHDRAWN, None
            locked.save(update_fields=["status", "error", "heartbeat_at"])
            return False
        locked.status, locked.heartbeat_at = Status.REVIEW, None
        locked.save(update_fields=["status", "heartbeat_at"])
    return True


def bundles_resume_stale(*, now=None) -> int:
    """Queue again the builds a worker dropped: never picked up (a lost message) or started and
    silent since (a killed worker). Returns how many were queued."""
    from dsr.tasks import build_bundle

    now = now or timezone.now()
    stale = ExportBundle.objects.filter(
        status=Status.QUEUED, created_at__lt=now - STALE_AFTER
    ) | ExportBundle.objects.filter(status=Status.BUILDING, heartbeat_at__lt=now - STALE_AFTER)
    ids = list(stale.values_list("pk", flat=True))
    for pk in ids:
        build_bundle.delay(pk)
    return len(ids)


def bundle_has_files(bundle: ExportBundle) -> bool:
    """False once an erasure or the purge of old bundles deleted the snapshot."""
    return (bundle_dir(bundle) / "snapshot.json").is_file()


def bundle_sections(bundle: ExportBundle, *, redacted: bool = True) -> list[dict]:
    """The snapshot, with redacted rows removed unless redacted=False (for the review page)."""
    data = json.loads((bundle_dir(bundle) / "snapshot.json").read_text())
    hidden = {(r["section"], r["row"]) for r in bundle.redactions} if redacted else set()
    for section in data["sections"]:
        section["rows"] = [
            row for i, row in enumerate(section["rows"]) if (section["section"], i) not in hidden
        ]
    return data["sections"]


def _reviewable(bundle: ExportBundle) -> ExportBundle:
    locked = ExportBundle.objects.select_for_update().select_related("request").get(pk=bundle.pk)
    if locked.revoked_at is not None:
        raise ValidationError(_("This bundle was withdrawn: the person's data was erased."))
    return locked


@transaction.atomic
def bundle_redact(*, bundle: ExportBundle, items: list[tuple[str, int]], reason: str, actor) -> ExportBundle:
    """Leave items out of the bundle (e.g. another person's data, GDPR Art. 15(4)), with a reason."""
    locked = _reviewable(bundle)
    if locked.status != Status.REVIEW:
        raise ValidationError(_("Only a bundle under review can be redacted."))
    if not reason.strip():
        raise ValidationError(_("Say why these items are left out (it is part of the record)."))
    if not items:
        raise ValidationError(_("Choose the items to leave out."))
    for text in (reason, *(section for section, _row in items)):
        check_text(text)  # kept in a JSON column: a NUL was a DataError (a 500) on PostgreSQL
    now = timezone.now().isoformat()
    done = {(r["section"], r["row"]) for r in locked.redactions}
    for section, row in items:
        if (section, row) not in done:
            locked.redactions.append(
                {
                    "section": section,
                    "row": row,
                    "reason": reason.strip(),
                    "by": actor.get_username(),
                    "at": now,
                }
            )
    locked.approved_by = None  # a changed bundle needs its confirmation again
    locked._history_user, locked._change_reason = (
        actor,
        f"redacted {len(items)} items: {reason.strip()}"[:100],
    )
    locked.save(update_fields=["redactions", "approved_by"])
    return locked


@transaction.atomic
def bundle_approve(*, bundle: ExportBundle, actor) -> ExportBundle:
    """The second officer's confirmation (four eyes), when the compliance settings ask for it."""
    locked = _reviewable(bundle)
    if locked.status != Status.REVIEW:
        raise ValidationError(_("Only a bundle under review can be confirmed."))
    if actor.pk == locked.created_by_id:
        raise ValidationError(_("Another privacy officer must confirm the bundle, not the one who built it."))
    locked.approved_by = actor
    locked._history_user, locked._change_reason = actor, "confirmed by a second officer"
    locked.save(update_fields=["approved_by"])
    return locked


@transaction.atomic
def bundle_release(*, bundle: ExportBundle, actor) -> str:
    """Write the ZIP, open a signed expiring link, and email it to the requester. Returns the link."""
    locked = _reviewable(bundle)
    if locked.status != Status.REVIEW:
        raise ValidationError(_("Only a reviewed bundle can be released."))
    compliance = ComplianceSettings.load()
    if compliance.export_needs_second_officer and locked.approved_by_id is None:
        raise ValidationError(_("A second privacy officer must confirm this bundle before it is released."))
    zip_write(locked, bundle_sections(locked), zip_path(locked))
    locked.status, locked.released_at = Status.RELEASED, timezone.now()
    locked.link_nonce = secrets.token_hex(16)
    locked.link_digest = tokens.digest(tokens.derive(locked.link_nonce))
    locked.link_expires_at = timezone.now() + timedelta(days=compliance.export_link_days)
    locked._history_user, locked._change_reason = actor, "released to the requester"
    locked.save(update_fields=["status", "released_at", "link_nonce", "link_digest", "link_expires_at"])
    from dsr.tasks import send_bundle_link

    transaction.on_commit(lambda: send_bundle_link.delay(locked.pk))
    return bundle_link(locked)


def bundle_link(bundle: ExportBundle) -> str:
    return absolute(reverse("dsr:download", args=[_link_text(bundle)]))


def _link_text(bundle: ExportBundle) -> str:
    return tokens.text_for(LINK_KIND, tokens.derive(bundle.link_nonce))


def bundle_usable_path(bundle: ExportBundle) -> str | None:
    """The download page of a released bundle while its link still works, else None.

    Judged by bundle_find itself, so a page that shows the link (the requester's status page)
    never offers one the download page would refuse: expired, used up or revoked."""
    if bundle.status != Status.RELEASED or not bundle.link_nonce:
        return None
    text = _link_text(bundle)
    try:
        bundle_find(text)
    except ValidationError:
        return None
    return reverse("dsr:download", args=[text])


def bundle_find(link: str) -> ExportBundle:
    """The released bundle behind a link; ValidationError if forged, expired or used up."""
    try:
        raw = tokens.unsign(link, kind=LINK_KIND)
    except tokens.InvalidLink:
        raise ValidationError(_("This link is not valid."), code="invalid") from None
    bundle = ExportBundle.objects.filter(status=Status.RELEASED, link_digest=tokens.digest(raw)).first()
    if bundle is None:
        raise ValidationError(_("This link is not valid."), code="invalid")
    if bundle.revoked_at is not None:
        raise ValidationError(_("This link no longer works: the data behind it was erased."), code="revoked")
    if bundle.link_expires_at < timezone.now():
        raise ValidationError(_("This link has expired. Please ask us again."), code="expired")
    if len(bundle.downloads) >= MAX_DOWNLOADS:
        raise ValidationError(_("This link has been used too often. Please ask us again."), code="used")
    return bundle


@transaction.atomic
def bundle_download(*, bundle: ExportBundle) -> Path:
    """Log a download (its time only) and return the file; ValidationError if it is gone."""
    locked = ExportBundle.objects.select_for_update().get(pk=bundle.pk)
    # Checked again under the lock: an erasure may have revoked the link since it was looked up.
    path = zip_path(locked)
    if locked.revoked_at is not None or not path.is_file():
        raise ValidationError(_("This link no longer works: the data behind it was erased."), code="revoked")
    locked.downloads.append(timezone.now().isoformat())
    locked.save(update_fields=["downloads"])
    return path


def zip_path(bundle: ExportBundle) -> Path:
    return bundle_dir(bundle) / f"{bundle.request.reference}.zip"


def bundle_files_delete(bundles) -> int:
    """Remove the files of these bundles (snapshot and ZIP); the rows stay as the record."""
    import shutil

    count = 0
    for bundle in bundles:
        folder = bundle_dir(bundle)
        if folder.exists():
            try:
                shutil.rmtree(folder)
            except FileNotFoundError:  # removed meanwhile (a build withdrawn by the same erasure)
                continue
            count += 1
    return count


def bundles_of(ids: list[int], identities: list) -> list[ExportBundle]:
    """The bundles of the requests about these contacts or sent from their addresses, locked: a
    download racing the erasure waits for it and then finds the link revoked."""
    from django.db.models import Q

    emails = [i.email for i in identities if i.email]
    phones = [i.phone for i in identities if i.phone]
    about = DataSubjectRequest.objects.filter(
        Q(contacts__in=ids) | Q(requester_email__in=emails) | Q(requester_phone__in=phones)
    )
    pks = set(ExportBundle.objects.filter(request__in=about).values_list("pk", flat=True))
    return list(ExportBundle.objects.select_for_update().select_related("request").filter(pk__in=pks))


def bundles_revoke(bundles: list[ExportBundle], identities=None) -> None:
    """Every download link of these bundles answers "gone" (410) from now on."""
    ExportBundle.objects.filter(pk__in=[b.pk for b in bundles], revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def bundles_files_erase(bundles: list[ExportBundle], identities=None) -> int:
    return bundle_files_delete(bundles)


def bundles_purge(*, now=None) -> int:
    """Files do not outlive their purpose: released ones once the link expired, others after 30 days."""
    now = now or timezone.now()
    stale = ExportBundle.objects.filter(
        status=Status.RELEASED, link_expires_at__lt=now
    ) | ExportBundle.objects.filter(created_at__lt=now - timedelta(days=30)).exclude(status=Status.RELEASED)
    return bundle_files_delete(stale)
