"""Images from any of the forms the sources store them in, with errors naming the row and field.

Accepted: a PIL image (``datasets`` decoded it), ``{"bytes": …, "path": …}`` (parquet/Arrow image struct), raw
bytes, a base64 string (VLMEvalKit TSV), a path relative to the data file's folder, or a list of these (several
images, e.g. ZeroBench or MMMU-Pro's ``image_1…image_7``; a list may also arrive as a JSON/Python literal string).

Limits (a decompression bomb — a small PNG that decodes to gigabytes — or a huge file is a bad row, never a stalled
or killed evaluation): an encoded image may hold at most ``MAX_IMAGE_BYTES`` (64 MiB) and decode to at most
``MAX_IMAGE_PIXELS`` (2**26 ≈ 67 M pixels, 8192 × 8192), checked from the header before any pixel is decoded; the
side-by-side canvas of a multi-image item obeys the same pixel limit. ``NPO_BENCH_MAX_IMAGE_PIXELS`` and
``NPO_BENCH_MAX_IMAGE_BYTES`` raise them for data that really needs more.
"""

from __future__ import annotations

import ast
import base64
import binascii
import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npo_bench.policy.images import combine  # noqa: F401  (re-exported: the benchmarks' one-image inputs)
from npo_bench_benchmarks.common.errors import bad_row
from npo_bench_benchmarks.common.schema import is_missing

if TYPE_CHECKING:
    from PIL.Image import Image

_BASE64_MIN_CHARS = 200  # shorter strings are file names; a real base64 image is never this short
MAX_IMAGE_PIXELS = 2**26
MAX_IMAGE_BYTES = 64 * 2**20


def pixel_limit() -> int:
    return int(os.environ.get("NPO_BENCH_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS))


def byte_limit() -> int:
    return int(os.environ.get("NPO_BENCH_MAX_IMAGE_BYTES", MAX_IMAGE_BYTES))


def check_pixels(width: int, height: int, where: str, field: str, what: str = "the image") -> None:
    """A :class:`BadRow` when ``width × height`` is over the pixel limit."""
    if width * height > pixel_limit():
        raise bad_row(
            where,
            field,
            f"{what} is {width}×{height} = {width * height:,} pixels, over the limit of {pixel_limit():,} "
            "(a decompression bomb? raise NPO_BENCH_MAX_IMAGE_PIXELS if the data really needs it)",
        )


def decode_images(value: Any, base_dir: Path | None, where: str, field: str) -> list[Image]:
    """Every image ``value`` holds, as RGB PIL images (at least one, else a :class:`BadRow`)."""
    if is_missing(value):
        raise bad_row(where, field, "no image")
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise bad_row(where, field, "an image list that cannot be parsed") from None
    if hasattr(value, "tolist") and not hasattr(value, "convert"):
        value = value.tolist()
    items = value if isinstance(value, (list, tuple)) else [value]
    images = [_one(item, base_dir, where, field) for item in items if not is_missing(item)]
    if not images:
        raise bad_row(where, field, "no image")
    return images


def _one(value: Any, base_dir: Path | None, where: str, field: str) -> Image:
    from PIL import Image, UnidentifiedImageError

    if hasattr(value, "convert"):
        check_pixels(*value.size, where, field)
        return value.convert("RGB")
    if isinstance(value, dict):
        if value.get("bytes"):
            return _one(value["bytes"], base_dir, where, field)
        if value.get("path"):
            return _one(str(value["path"]), base_dir, where, field)
        raise bad_row(where, field, "an image struct with neither bytes nor path")
    if isinstance(value, str):
        value = _file_or_base64(value, base_dir, where, field)
    if not isinstance(value, (bytes, bytearray)):
        raise bad_row(where, field, f"cannot read an image from a {type(value).__name__}")
    if len(value) > byte_limit():
        raise bad_row(where, field, f"the image has {len(value):,} bytes, over the limit of {byte_limit():,}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own, lower limit decides
            with Image.open(io.BytesIO(value)) as image:
                check_pixels(*image.size, where, field)  # from the header: nothing decoded yet
                return image.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise bad_row(where, field, f"a decompression bomb ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:  # PIL's decoders raise these
        raise bad_row(where, field, f"not a readable image ({type(exc).__name__}: {exc})") from None


def _file_or_base64(value: str, base_dir: Path | None, where: str, field: str) -> bytes:
    if len(value) >= _BASE64_MIN_CHARS and not any(c in value for c in " .\n"):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise bad_row(where, field, f"image file {path} not found")
    if path.stat().st_size > byte_limit():
        raise bad_row(where, field, f"image file {path} has {path.stat().st_size:,} bytes, over the limit")
    return path.read_bytes()
