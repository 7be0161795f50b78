"""Numbers typed or posted by anyone: only ASCII digits, short enough for a database integer.
str.isdigit() alone accepts "²" and "٣", which int() then refuses or reads, and any length."""


def parse_id(text: str, *, max_digits: int = 9) -> int | None:
    """The non-negative integer `text` spells, or None."""
    if text and len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None
