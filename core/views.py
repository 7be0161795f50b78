"""The one public file core serves: the organisation's logo, for the public pages and emails."""

from pathlib import PurePosixPath

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from core.logo import image_type
from core.models import ComplianceSettings


@require_GET
def organisation_logo(request, name: str):
    """The current logo, only under its current name (a new upload gets a new name, so the long
    cache below never shows an old logo). Its type is read from its bytes, and only an accepted
    image type is ever sent: whatever reached the folder, a browser never receives it as HTML."""
    logo = ComplianceSettings.load().logo
    if not logo or PurePosixPath(logo.name).name != name:
        raise Http404
    try:
        with logo.open("rb") as file:
            content = file.read()
    except OSError as error:
        raise Http404 from error
    found = image_type(content[:16])
    if found is None:
        raise Http404
    response = HttpResponse(content, content_type=found[0])
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="logo{found[1]}"'
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    # Mail clients and webmail show it from another origin; nothing in it may run anywhere.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
