"""Where a run's config comes from: built-in presets (``extends:`` chains) and method files, a ``--config FILE``,
CLI flags and dotted ``--set a.b=c`` overrides, layered by :func:`resolve` and checked at every layer against the
schema (:mod:`npo_bench.config`).

Precedence: dataclass defaults < preset < method < config file < CLI flags < ``--set`` overrides. A bad layer is an
error naming its file (or override) and the field, with a "did you mean" hint.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from npo_bench.config import RunConfig, from_dict
from npo_bench.errors import UserError, did_you_mean


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def builtin_config_dir(kind: str) -> Path:
    """Folder of built-in YAML files of one kind: presets | methods | models."""
    return Path(str(resources.files("npo_bench_configs") / kind))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise UserError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a YAML text file (byte {exc.start} is not UTF-8)") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise UserError(f"{path}: invalid YAML: nested too deeply") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def load_preset_data(name: str, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The merged plain data of a built-in preset, following ``extends:``."""
    folder = builtin_config_dir("presets")
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = [p.stem for p in folder.glob("*.yaml")]
        raise UserError(f"unknown preset {name!r}", hint=did_you_mean(name, known))
    if name in _seen:
        raise UserError(f"preset {name!r} extends itself through {' -> '.join(_seen)}")
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    if parent:
        data = _deep_merge(load_preset_data(parent, (*_seen, name)), data)
    _check_keys(data, path)
    return data


def _check_keys(data: dict[str, Any], origin: Path | str) -> None:
    try:
        from_dict(data, where="")
    except UserError as exc:
        raise UserError(f"{origin}: {exc.message.lstrip(': ')}", exc.hint) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"trainer.lr=1e-6"`` → (["trainer", "lr"], 1e-06); the value is parsed as YAML (numbers, lists, null)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set {text!r}: expected KEY=VALUE, e.g. trainer.lr=1e-6")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except (yaml.YAMLError, RecursionError):
        value = raw
    if isinstance(value, str) and _looks_like_float(value):
        value = float(value)  # YAML 1.1 reads "1e-6" as a string
    return key.strip().split("."), value


def _looks_like_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return any(c in text.lower() for c in ".e") and text.strip().lower() not in ("nan", "inf", "-inf")


def _set_path(data: dict[str, Any], path: list[str], value: Any, origin: str) -> None:
    node: Any = data
    cls: Any = RunConfig
    for i, part in enumerate(path):
        if cls is not None and dataclasses.is_dataclass(cls):
            hints = typing.get_type_hints(cls)
            if part not in hints:
                names = [f.name for f in dataclasses.fields(cls)]
                raise UserError(f"{origin}: unknown key {'.'.join(path[: i + 1])!r}", hint=did_you_mean(part, names))
            cls = hints[part]
            cls = next((a for a in typing.get_args(cls) if dataclasses.is_dataclass(a)), cls)
        else:
            cls = None  # inside a free-form options mapping
        if i == len(path) - 1:
            node[part] = value
        else:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"{origin}: {'.'.join(path[: i + 1])} is not a mapping")


def load_method_data(name: str) -> dict[str, Any]:
    """A method preset (``configs/methods/NAME.yaml``): usually just the guidance source and its options."""
    folder = builtin_config_dir("methods")
    path = folder / f"{name}.yaml"
    if not path.is_file():
        raise UserError(f"unknown method {name!r}", hint=did_you_mean(name, [p.stem for p in folder.glob("*.yaml")]))
    data = _read_yaml(path)
    _check_keys(data, path)
    return data


def resolve(
    preset: str = "tiny-cpu",
    config_file: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    extra: dict[str, Any] | None = None,
    method: str | None = None,
) -> RunConfig:
    """Defaults < preset < method < config file < ``extra`` (CLI flags) < ``--set`` overrides, every layer checked."""
    data = load_preset_data(preset)
    data["preset"] = preset
    if method is not None:
        data = _deep_merge(data, load_method_data(method))
        data["method"] = method
    if config_file is not None:
        path = Path(config_file)
        file_data = _read_yaml(path)
        if "extends" in file_data:
            data = load_preset_data(file_data.pop("extends"))
        _check_keys(file_data, path)
        data = _deep_merge(data, file_data)
    if extra:
        data = _deep_merge(data, extra)
    return with_overrides(data, overrides, where="config")


def with_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...], where: str) -> RunConfig:
    """``--set`` overrides applied to plain config data (a copy; every key checked), then the checked config."""
    data = copy.deepcopy(data)
    for text in overrides:
        path_parts, value = parse_override(text)
        _set_path(data, path_parts, value, f"--set {text}")
    return from_dict(data, where=where)
