"""What a local model directory must hold, checked without loading it (and without executing anything from it).

``config.json`` must be UTF-8 JSON holding an object with a ``model_type``; weights must be there: ``*.safetensors``
(each file's header is read and its declared tensors must fit the file, which catches truncated and foreign files)
or ``pytorch_model*.bin`` (transformers reads those with ``weights_only=True``); a tokenizer file must be there.
Every failure is one :class:`~npo_bench.errors.UserError` naming the directory or file.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from npo_bench.errors import UserError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit on a header


def read_model_config(path: Path) -> dict[str, Any]:
    """``config.json`` of model directory ``path`` as a dict with a string ``model_type``."""
    config_file = path / "config.json"
    if not path.is_dir():
        raise UserError(f"model directory {path} does not exist", hint="pass a local HF model directory or a run")
    if not config_file.is_file():
        raise UserError(f"model directory {path} has no config.json", hint="is this a save_pretrained directory?")
    try:
        text = config_file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{config_file}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except OSError as exc:
        raise UserError(f"{config_file}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{config_file}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict):
        raise UserError(f"{config_file}: expected a JSON object, got {type(data).__name__}")
    model_type = data.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise UserError(f"{config_file}: field 'model_type' is missing or not a string ({model_type!r})")
    return data


def check_model_dir(path: Path) -> dict[str, Any]:
    """Everything :func:`read_model_config` checks, plus weights and a tokenizer; returns the config."""
    config = read_model_config(path)
    safetensors = sorted(path.glob("*.safetensors"))
    pickled = sorted(path.glob("pytorch_model*.bin"))
    if not safetensors and not pickled:
        raise UserError(
            f"model directory {path} has no weights (*.safetensors or pytorch_model*.bin)",
            hint="copy the model's weight files next to its config.json",
        )
    for file in safetensors:
        check_safetensors_header(file)
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(f"model directory {path} has no tokenizer ({' or '.join(TOKENIZER_FILES)})")
    return config


def check_safetensors_header(file: Path) -> None:
    """The 8-byte header length and JSON header of a safetensors file, and that its tensors fit in the file."""
    try:
        size = file.stat().st_size
        with file.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if size < 8 or length > min(MAX_HEADER_BYTES, size - 8):
                raise ValueError(f"header length {length} does not fit a {size}-byte file")
            header = json.loads(handle.read(length).decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
        ends = [
            entry["data_offsets"][1]
            for name, entry in header.items()
            if name != "__metadata__" and isinstance(entry, dict) and isinstance(entry.get("data_offsets"), list)
        ]
        if max(ends, default=0) > size - 8 - length:
            raise ValueError(f"tensors need {max(ends)} bytes, the file holds {size - 8 - length} (truncated?)")
    except OSError as exc:  # a dangling link (an HF cache snapshot whose blob is gone), a folder named *.safetensors
        raise UserError(f"{file}: cannot read it ({exc.strerror or exc})") from None
    except (struct.error, ValueError, UnicodeDecodeError, KeyError, IndexError, TypeError) as exc:
        raise UserError(f"{file}: not a readable safetensors file ({exc})") from None
