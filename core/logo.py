"""The organisation's logo: which uploads are accepted, where they are kept, and what type they are.

Only PNG, JPEG and WebP, recognised by their content (a name says nothing): the file is served
to the public and shown in emails, so an upload that a browser could run (SVG carries scripts,
HTML is HTML whatever it is called) must never get in. Size and dimensions are bounded so that a
huge or decompression-bomb image cannot slow every public page or fill the disk.
"""

from __future__ import annotations

import secrets
import warnings
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.urls import reverse
from django.utils.translation import gettext as _

MAX_BYTES = 512 * 1024
MAX_SIDE = 2000  # pixels, each way: a header logo is shown at most a few hundred wide

# What the first bytes of each accepted format are, and the type it is served as.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
_PILLOW_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def image_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from a file's first bytes, or None if it is none we accept."""
    for signature, content_type, extension in _SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def _head(file, size: int = 16) -> bytes:
    file.seek(0)
    head = file.read(size)
    file.seek(0)
    return head


def validate_logo(file) -> None:
    """Refuse anything but a PNG, JPEG or WebP image within the size and dimension bounds."""
    from PIL import Image  # Pillow, imported when a logo is checked, not by every page

    if getattr(file, "_committed", False):
        # The logo already stored, checked when it was uploaded: saving other settings must
        # neither read it again nor fail if it went missing from the disk.
        return
    if file.size > MAX_BYTES:
        raise ValidationError(
            _("The logo is %(size)s KB; it may be at most %(max)s KB.")
            % {"size": -(-file.size // 1024), "max": MAX_BYTES // 1024},
            code="too_large",
        )
    refused = ValidationError(
        _(
            "The logo must be a PNG, JPEG or WebP image. Other files, SVG included (it can carry "
            "scripts), are not accepted."
        ),
        code="not_an_image",
    )
    declared = image_type(_head(file))
    if declared is None:
        raise refused
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                kind, (width, height) = image.format, image.size
                image.verify()  # reads the whole file: a truncated or forged image fails here
    except Exception as error:  # Pillow raises many kinds for a broken file; each one is a refusal
        raise refused from error
    finally:
        file.seek(0)
    if _PILLOW_FORMATS.get(kind) != declared[0]:
        raise refused
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ValidationError(
            _("The logo is %(width)s × %(height)s pixels; it may be at most %(max)s × %(max)s.")
            % {"width": width, "height": height, "max": MAX_SIDE},
            code="too_big",
        )


def logo_upload_to(instance, filename: str) -> str:
    """A fresh unguessable name per upload, so a new logo gets a new address (cached ones never go
    stale) and nothing the uploader chose (name, extension) reaches the disk or the URL."""
    try:
        found = image_type(_head(instance.logo.file))
    except ValueError:  # saved through FieldFile.save(name, content): the content is not at hand
        found = None
    extension = found[1] if found else ""  # served by its content either way (core.views)
    return f"branding/logo-{secrets.token_hex(8)}{extension}"


class LogoStorage(FileSystemStorage):
    """MEDIA_ROOT, where every upload is kept and which no web server serves; a logo's address is
    the view that sends it safely (core.views.organisation_logo), the admin's "Currently" link too."""

    def url(self, name: str) -> str:
        return reverse("core:organisation-logo", args=[PurePosixPath(name).name])


def logo_storage() -> LogoStorage:
    return LogoStorage()
