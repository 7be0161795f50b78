"""Colour contrast as WCAG 2.2 measures it, and the uses of the organisation's colour it must suit.

The public pages put the brand colour behind white text (buttons, the header), as text on the
white page (links) and as a focus and border indicator on white; a colour is accepted only if
every one of those uses passes AA, so no officer can make a page fail its accessibility checks.
"""

from __future__ import annotations

import math
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
WHITE = "#ffffff"
PANEL = "#f3f5f8"  # --soft in static/css/public.css: the pale fieldsets and notices links sit on

# Where the product uses the colour, against what, and the AA ratio each use needs (WCAG 2.2
# SC 1.4.3 for text, 1.4.11 for the non-text focus and border indicators).
USES = (
    (gettext_lazy("White text on the colour (buttons)"), WHITE, 4.5),
    (gettext_lazy("The colour as link text on the white page"), WHITE, 4.5),
    (gettext_lazy("The colour as link text on the pale panels"), PANEL, 4.5),
    (gettext_lazy("The colour as focus outline and border on white"), WHITE, 3.0),
)


def _channel(value: int) -> float:
    c = value / 255
    # WCAG 2.2's definition of relative luminance (sRGB); 0.04045 is the sRGB standard's threshold.
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """0 for black, 1 for white, of a #rrggbb colour."""
    if not HEX_COLOUR.match(colour):
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours, from 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def shown(ratio: float) -> str:
    """The ratio as people read it ("4.49:1"), cut rather than rounded so a refused colour never
    reads as reaching the ratio it missed."""
    return f"{math.floor(ratio * 100) / 100:.2f}:1"


def validate_brand_colour(value: str) -> None:
    """Refuse a colour that is not #rrggbb, or that fails AA contrast in any use the product makes of it."""
    if not HEX_COLOUR.match(value or ""):
        raise ValidationError(
            _("Enter the colour as # and six hexadecimal digits, for example #0b5394."), code="invalid"
        )
    failures = [
        _("%(use)s has a contrast of %(measured)s; WCAG 2.2 AA needs at least %(needed)s.")
        % {"use": use, "measured": shown(ratio), "needed": f"{needed:g}:1"}
        for use, background, needed in USES
        if (ratio := contrast_ratio(value, background)) < needed
    ]
    if failures:
        raise ValidationError(
            [_("This colour is too light for the public pages to stay readable."), *failures]
        )
