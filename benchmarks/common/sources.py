"""Where a benchmark's rows come from: a Hugging Face dataset id, or local files (no network needed).

``data`` may be

- a directory holding ``<stem>.jsonl``, ``<stem>.parquet`` or ``<stem>.tsv`` for the split's file stem
  (images as paths relative to that directory, base64 strings, or parquet image structs);
- one ``.jsonl`` / ``.parquet`` / ``.tsv`` file (VLMEvalKit's TSV: one row per item, base64 ``image`` column);
- a Hugging Face dataset id (``AI4Math/MathVista``), loaded with ``datasets.load_dataset`` — imported only here,
  because ``datasets`` is the optional ``data`` extra.

Each row comes with ``where`` (``"path/testmini.jsonl row 7"``), so every later error names its row. A row that
cannot even be parsed (bytes that are not UTF-8, a line that is not a JSON object) arrives with ``error`` set to a
:class:`BadRow` naming the file, the row and, where it can be found, the field: the loader raises or skips it
(``--skip-bad``) like any other bad row, and the rows after it are still read.
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
from npo_bench_benchmarks.common.errors import BadRow, bad_row

SUFFIXES = (".jsonl", ".parquet", ".tsv")


@dataclass(frozen=True)
class Row:
    fields: dict[str, Any]
    where: str  # "file row N" for error messages
    base_dir: Path | None  # where relative image paths resolve
    error: BadRow | None = None  # set when the row could not be parsed at all (fields is then empty)


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
    for index, parsed in enumerate(reader(path), start=1):
        where = f"{path} row {index}"
        if isinstance(parsed, _Unreadable):
            yield Row({}, where, path.parent, bad_row(where, parsed.field, parsed.why))
        else:
            yield Row(parsed, where, path.parent)


@dataclass(frozen=True)
class _Unreadable:
    """A row that cannot be parsed: why, and the field when it is known."""

    why: str
    field: str | None = None


def _jsonl(path: Path) -> Iterator[dict[str, Any] | _Unreadable]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            yield _jsonl_row(raw, number)


def _jsonl_row(raw: bytes, number: int) -> dict[str, Any] | _Unreadable:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # parse it anyway with the bad bytes kept as surrogates, to name the field that holds them
        field = None
        try:
            loose = json.loads(raw.decode("utf-8", errors="surrogateescape"))
            field = _field_with_bad_text(loose) if isinstance(loose, dict) else None
        except ValueError:
            pass
        return _Unreadable(
            f"line {number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})", field
        )
    try:
        fields = json.loads(line)
    except json.JSONDecodeError as exc:
        return _Unreadable(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return _Unreadable(f"line {number}: JSON nested too deeply")
    if not isinstance(fields, dict):
        return _Unreadable(f"line {number}: expected a JSON object, got {type(fields).__name__}")
    return fields


def _field_with_bad_text(fields: dict[str, Any]) -> str | None:
    """The first field whose text (or nested text) holds undecodable bytes (surrogates), if any."""

    def bad(value: Any) -> bool:
        if isinstance(value, str):
            return any("\udc80" <= char <= "\udcff" for char in value)
        if isinstance(value, dict):
            return any(bad(k) or bad(v) for k, v in value.items())
        if isinstance(value, list):
            return any(bad(v) for v in value)
        return False

    return next((str(key) for key, value in fields.items() if bad(key) or bad(value)), None)


def _parquet(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(f"reading {path} needs pyarrow", hint="pip install 'npo-bench[data]'") from None
    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises its own types for a truncated or foreign file
        first = (str(exc).strip().splitlines() or [repr(exc)])[0]
        raise UserError(f"benchmark data {path}: not a readable parquet file ({first})") from None
    yield from rows


def _tsv(path: Path) -> Iterator[dict[str, Any] | _Unreadable]:
    csv.field_size_limit(sys.maxsize)  # base64 images are long cells
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for fields in resolve_image_references(rows):
        field = _field_with_bad_text({str(k): v for k, v in fields.items()})
        yield _Unreadable("not UTF-8 text", field) if field is not None else fields


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
