"""Small image files made in memory, as an officer's upload would arrive."""

import io
import os

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (120, 40), *, noise: bool = False) -> bytes:
    """An image of `size` in `fmt`; noise=True makes one that does not compress (a big file)."""
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (11, 83, 148))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
