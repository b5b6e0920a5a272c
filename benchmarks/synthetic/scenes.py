"""Draw scenes of coloured shapes and seven-segment digits on a grid (pure PIL, no fonts, no downloads).

The canvas is a ``grid × grid`` board of square cells. With the tiny Qwen3-VL policy (patch 16, merge 2) a 32-px cell
is exactly one visual token, so the vision tower sees one object per token; larger models simply see a small image.
Every object gets a random jitter in position, size and colour so that no two images are pixel-identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 90, 230),
    "yellow": (235, 210, 40),
}
SHAPES = ("circle", "square", "triangle")
SIZES = ("small", "large")

# Seven-segment layout: segment -> (x0, y0, x1, y1) in a unit box; digit -> lit segments.
_SEGMENTS = {
    "a": (0.2, 0.08, 0.8, 0.18),
    "b": (0.72, 0.12, 0.82, 0.5),
    "c": (0.72, 0.5, 0.82, 0.88),
    "d": (0.2, 0.82, 0.8, 0.92),
    "e": (0.18, 0.5, 0.28, 0.88),
    "f": (0.18, 0.12, 0.28, 0.5),
    "g": (0.2, 0.45, 0.8, 0.55),
}
_DIGIT_SEGMENTS = {
    0: "abcdef",
    1: "bc",
    2: "abged",
    3: "abgcd",
    4: "fgbc",
    5: "afgcd",
    6: "afgedc",
    7: "abc",
    8: "abcdefg",
    9: "abcdfg",
}


@dataclass(frozen=True)
class Shape:
    cell: int  # row-major index on the grid
    shape: str
    colour: str
    size: str


@dataclass(frozen=True)
class Digit:
    cell: int
    value: int


SceneObject = Shape | Digit


def render(objects: list[SceneObject], grid: int, cell_px: int, rng: random.Random) -> Image.Image:
    """Draw ``objects`` on a dark, lightly noisy board of ``grid × grid`` cells of ``cell_px`` pixels."""
    side = grid * cell_px
    image = Image.new("RGB", (side, side), (18, 18, 22))
    draw = ImageDraw.Draw(image)
    for _ in range(side // 2):  # sparse speckle noise so the background is not a constant
        x, y = rng.randrange(side), rng.randrange(side)
        level = rng.randint(25, 45)
        draw.point((x, y), fill=(level, level, level))
    for obj in objects:
        row, col = divmod(obj.cell, grid)
        box = (col * cell_px, row * cell_px, (col + 1) * cell_px, (row + 1) * cell_px)
        if isinstance(obj, Shape):
            _draw_shape(draw, obj, box, rng)
        else:
            _draw_digit(draw, obj, box, rng)
    return image


def _jitter_colour(rgb: tuple[int, int, int], rng: random.Random) -> tuple[int, int, int]:
    return tuple(max(0, min(255, c + rng.randint(-18, 18))) for c in rgb)  # type: ignore[return-value]


def _draw_shape(draw: ImageDraw.ImageDraw, obj: Shape, box: tuple[int, int, int, int], rng: random.Random) -> None:
    x0, y0, x1, y1 = box
    cell = x1 - x0
    frac = rng.uniform(0.72, 0.86) if obj.size == "large" else rng.uniform(0.34, 0.46)
    extent = cell * frac
    cx = (x0 + x1) / 2 + rng.uniform(-1, 1) * (cell - extent) / 2 * 0.8
    cy = (y0 + y1) / 2 + rng.uniform(-1, 1) * (cell - extent) / 2 * 0.8
    half = extent / 2
    fill = _jitter_colour(COLOURS[obj.colour], rng)
    if obj.shape == "circle":
        draw.ellipse((cx - half, cy - half, cx + half, cy + half), fill=fill)
    elif obj.shape == "square":
        draw.rectangle((cx - half, cy - half, cx + half, cy + half), fill=fill)
    else:
        draw.polygon([(cx, cy - half), (cx + half, cy + half), (cx - half, cy + half)], fill=fill)


def _draw_digit(draw: ImageDraw.ImageDraw, obj: Digit, box: tuple[int, int, int, int], rng: random.Random) -> None:
    x0, y0, x1, y1 = box
    cell = x1 - x0
    pad = cell * rng.uniform(0.0, 0.08)
    dx, dy = rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)
    width, height = cell - 2 * pad, cell - 2 * pad
    level = rng.randint(215, 255)
    for name in _DIGIT_SEGMENTS[obj.value]:
        sx0, sy0, sx1, sy1 = _SEGMENTS[name]
        draw.rectangle(
            (
                x0 + pad + dx + sx0 * width,
                y0 + pad + dy + sy0 * height,
                x0 + pad + dx + sx1 * width,
                y0 + pad + dy + sy1 * height,
            ),
            fill=(level, level, level),
        )
