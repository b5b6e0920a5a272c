"""Required-field access with errors naming the row and field (benchmarks.md §2: each benchmark's fields)."""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Mapping
from typing import Any

from npo_bench_benchmarks.common.errors import bad_row


def is_missing(value: Any) -> bool:
    """``None``, NaN (pandas' empty cell) or a blank string."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def required(row: Mapping[str, Any], field: str, where: str) -> Any:
    """``row[field]``, or a :class:`BadRow` naming ``where`` and ``field`` when it is absent or empty."""
    if field not in row:
        raise bad_row(where, field, "it is missing")
    value = row[field]
    if is_missing(value):
        raise bad_row(where, field, "it is empty")
    return value


def optional(row: Mapping[str, Any], field: str, default: Any = None) -> Any:
    value = row.get(field, default)
    return default if is_missing(value) else value


def text(row: Mapping[str, Any], field: str, where: str) -> str:
    """A required field as stripped text (numbers become their string form, as the official scorers compare)."""
    value = required(row, field, where)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def whole_number(row: Mapping[str, Any], field: str, where: str, low: int, high: int) -> int | None:
    """An optional whole number in ``[low, high]`` (None when absent): ``"2"`` and ``2.0`` count, ``"inf"`` does not."""
    value = optional(row, field)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise bad_row(where, field, f"{value!r} is not a number") from None
    if not math.isfinite(number) or not number.is_integer() or not low <= number <= high:
        raise bad_row(where, field, f"{value!r} is not a whole number from {low} to {high}")
    return int(number)


def _parsed_literal(text: str, where: str, field: str, expected: str) -> Any:
    """``text`` read as JSON, else as a Python literal (``ast.literal_eval`` builds data, never runs code)."""
    try:
        return json.loads(text)
    except ValueError:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise bad_row(where, field, f"expected {expected}, got {text[:60]!r}") from None


def string_list(value: Any, where: str, field: str) -> list[str]:
    """A list field that may arrive as a list, a JSON/Python list literal (MMMU's ``options``) or ``None``."""
    if is_missing(value):
        return []
    if isinstance(value, str):
        value = _parsed_literal(value, where, field, "a list")
    if hasattr(value, "tolist"):  # numpy array from parquet
        value = value.tolist()
    if value is None:  # "None" / "null" written for an item without options
        return []
    if not isinstance(value, (list, tuple)):
        raise bad_row(where, field, f"expected a list, got {type(value).__name__}")
    return [str(v).strip() for v in value]


def mapping(value: Any, where: str, field: str) -> dict[str, Any]:
    """A dict field that may arrive as a dict, JSON, or a Python literal string (VLMEvalKit TSVs write
    ``str(dict)``: ``{'subject': 'Plane Geometry'}``); missing → ``{}``."""
    if is_missing(value):
        return {}
    if isinstance(value, str):
        value = _parsed_literal(value, where, field, "a mapping")
    if not isinstance(value, dict):
        raise bad_row(where, field, f"expected a mapping, got {type(value).__name__}")
    return value


def first_present(row: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    """The first of ``fields`` the row has a value for (the HF and the VLMEvalKit spelling of one column), else the
    first name (so that a missing value is reported under the benchmark's own field name)."""
    for field in fields:
        if not is_missing(row.get(field)):
            return field
    return fields[0]


def letter_columns(row: Mapping[str, Any], letters: str) -> list[str]:
    """Option texts from VLMEvalKit's one-column-per-option layout (``A``, ``B``, …), up to the first empty one.
    Hugging Face copies of MMBench write a missing option as the string ``"nan"``: that is empty too."""
    texts = []
    for letter in letters:
        value = row.get(letter)
        if is_missing(value) or (isinstance(value, str) and value.strip().lower() == "nan"):
            break
        texts.append(str(value).strip())
    return texts
