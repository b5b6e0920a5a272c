"""Where a benchmark's rows come from: a Hugging Face dataset id, or local files (no network needed).

``data`` may be

- a directory holding ``<stem>.jsonl``, ``<stem>.parquet`` or ``<stem>.tsv`` for the split's file stem
  (images as paths relative to that directory, base64 strings, or parquet image structs);
- one ``.jsonl`` / ``.parquet`` / ``.tsv`` file (VLMEvalKit's TSV: one row per item, base64 ``image`` column);
- a Hugging Face dataset id (``AI4Math/MathVista``), loaded with ``datasets.load_dataset`` — imported only here,
  because ``datasets`` is the optional ``data`` extra.

Each row comes with ``where`` (``"path/testmini.jsonl row 7"``), so every later error names its row.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npo_bench.errors import UserError

SUFFIXES = (".jsonl", ".parquet", ".tsv")


@dataclass(frozen=True)
class Row:
    fields: dict[str, Any]
    where: str  # "file row N" for error messages
    base_dir: Path | None  # where relative image paths resolve


def read_rows(data: str, stem: str, hf_config: str | None, hf_split: str) -> Iterator[Row]:
    """Rows of one split from ``data`` (see the module docstring); ``stem`` names the local file of the split."""
    path = Path(data).expanduser()
    if path.is_dir():
        yield from read_file(find_split_file(path, stem))
    elif path.is_file():
        yield from read_file(path)
    elif path.suffix in SUFFIXES or data.startswith((".", "/", "~")) or data.count("/") != 1:
        raise UserError(f"benchmark data {data}: no such file or directory")
    else:
        yield from read_hub(data, hf_config, hf_split)


def find_split_file(folder: Path, stem: str) -> Path:
    for suffix in SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    wanted = " or ".join(f"{stem}{s}" for s in SUFFIXES)
    raise UserError(f"benchmark data folder {folder} has no {wanted}")


def read_file(path: Path) -> Iterator[Row]:
    readers = {".jsonl": _jsonl, ".parquet": _parquet, ".tsv": _tsv}
    reader = readers.get(path.suffix)
    if reader is None:
        raise UserError(f"benchmark data {path}: unsupported file type", hint=f"use one of {', '.join(SUFFIXES)}")
    for index, fields in enumerate(reader(path), start=1):
        yield Row(fields, f"{path} row {index}", path.parent)


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                fields = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path} line {number}: not valid JSON ({exc.msg})") from None
            if not isinstance(fields, dict):
                raise UserError(f"{path} line {number}: expected a JSON object, got {type(fields).__name__}")
            yield fields


def _parquet(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(f"reading {path} needs pyarrow", hint="pip install 'npo-bench[data]'") from None
    yield from pq.read_table(path).to_pylist()


def _tsv(path: Path) -> Iterator[dict[str, Any]]:
    csv.field_size_limit(sys.maxsize)  # base64 images are long cells
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    yield from resolve_image_references(rows)


IMAGE_REFERENCE_MAX_CHARS = 64


def resolve_image_references(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """VLMEvalKit TSVs store a repeated image once: another row's ``image`` cell then holds that row's ``index``
    (at most 64 characters, VLMEvalKit's own test). Such a cell gets the referenced row's image; a short cell that
    names no row (a file path) is left alone."""
    if not rows or "image" not in rows[0] or "index" not in rows[0]:
        return rows
    full = {row["index"]: row["image"] for row in rows if len(row.get("image") or "") > IMAGE_REFERENCE_MAX_CHARS}
    for row in rows:
        image = row.get("image") or ""
        if 0 < len(image) <= IMAGE_REFERENCE_MAX_CHARS and image in full:
            row["image"] = full[image]
    return rows


def read_hub(dataset_id: str, config: str | None, split: str) -> Iterator[Row]:
    try:
        import datasets
    except ImportError:
        raise UserError(
            f"loading {dataset_id} from the Hugging Face hub needs the optional `datasets` package",
            hint="pip install 'npo-bench[data]', or point --data-dir at local files",
        ) from None
    try:
        table = datasets.load_dataset(dataset_id, config, split=split)
    except Exception as exc:  # the hub raises many types; the user needs the id, config and split
        raise UserError(f"cannot load {dataset_id} (config {config}, split {split}): {exc}") from None
    label = f"{dataset_id}[{config + ':' if config else ''}{split}]"
    for index, fields in enumerate(table, start=1):
        yield Row(dict(fields), f"{label} row {index}", None)
