"""Small real images for upload tests: uploads are decoded before they are kept, so magic bytes alone fail."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    """A decodable image of `fmt` (PNG, JPEG, WEBP)."""
    out = io.BytesIO()
    Image.new("RGB", size, (30, 160, 60)).save(out, fmt)
    return out.getvalue()


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
