"""Several images as one policy input: the embedded policies take one image per prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image


def combine(images: list[Image]) -> Image:
    """One image for a one-image policy input: several are placed side by side, top-aligned, on white."""
    if len(images) == 1:
        return images[0]
    from PIL import Image

    width = sum(image.width for image in images)
    height = max(image.height for image in images)
    canvas = Image.new("RGB", (width, height), "white")
    x = 0
    for image in images:
        canvas.paste(image, (x, 0))
        x += image.width
    return canvas
