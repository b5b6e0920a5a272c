"""Declarative checks for settings: a type, a range and a set of choices per field, in one place.

Two users: the config schema (``npo_bench.config`` puts a :class:`Check` in each field's metadata) and guidance
sources (``OPTIONS = {"harvest_k": Option(8, "guide samples per prompt", ge=1), …}``). Both report a failure as one
:class:`~npo_bench.errors.UserError` that names the field and says what is allowed, e.g.
``rollout.n=0: must be ≥ 1 (rollouts per prompt …)``.

An :class:`Option` still reads like the older ``(default, meaning)`` tuples (``default, meaning = option``,
``option[0]``), so ``npo-bench sources`` and third-party code that unpack them keep working; a plain tuple option is
accepted everywhere and checked only by name.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from npo_bench.errors import UserError


@dataclass(frozen=True)
class Check:
    """Constraints on one value: numeric bounds (inclusive ``ge``/``le``, exclusive ``gt``/``lt``) and choices.

    ``None`` always passes (whether a field may be empty is its type's business).
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` breaks the constraints, or None."""
        if value is None:
            return None
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(str(c) for c in self.choices)}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and math.isnan(value):
                return "must be a number, not nan"
            bounds = [
                (self.ge, lambda v, b: v >= b, "≥"),
                (self.gt, lambda v, b: v > b, ">"),
                (self.le, lambda v, b: v <= b, "≤"),
                (self.lt, lambda v, b: v < b, "<"),
            ]
            failed = [
                f"{sign} {_num(bound)}" for bound, ok, sign in bounds if bound is not None and not ok(value, bound)
            ]
            if failed:
                wanted = [f"{sign} {_num(bound)}" for bound, _, sign in bounds if bound is not None]
                return f"must be {' and '.join(wanted)}"
            if isinstance(value, float) and math.isinf(value) and (self.le is not None or self.lt is not None):
                return "must be finite"
        return None

    def describe(self) -> str:
        """``"≥ 1"``, ``"one of constant, cosine"``, or ``""`` when unconstrained (for ``--explain``)."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        parts = [
            f"{sign} {_num(bound)}"
            for bound, sign in ((self.ge, "≥"), (self.gt, ">"), (self.le, "≤"), (self.lt, "<"))
            if bound is not None
        ]
        return " and ".join(parts)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Option:
    """One guidance-source option: default, meaning, type and constraints.

    ``kind`` defaults to the default's type (``int`` for ``8``, ``float`` for ``0.6``, ``list`` for ``[]``); ``int``
    values are accepted for ``float`` options, ``bool`` never passes as a number. ``nullable`` lets ``None`` through
    (implied by a ``None`` default).
    """

    default: Any
    help: str
    kind: type | tuple[type, ...] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False

    # reads like the (default, meaning) tuples it replaces
    def __iter__(self) -> Iterator[Any]:
        return iter((self.default, self.help))

    def __getitem__(self, index: int) -> Any:
        return (self.default, self.help)[index]

    def __len__(self) -> int:
        return 2

    @property
    def types(self) -> tuple[type, ...] | None:
        if self.kind is not None:
            return self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if self.default is None:
            return None
        return (type(self.default),)

    def checked(self, source: str, name: str, value: Any) -> Any:
        """``value`` (an int widened to float where a float is wanted), or a UserError naming source and option."""
        where = f"source {source!r}: option {name}={value!r}"
        if value is None:
            if self.nullable or self.default is None:
                return None
            raise UserError(f"{where}: must not be empty", hint=self.help)
        types = self.types
        if types is not None:
            value = _typed(value, types, where, self.help)
        problem = Check(self.ge, self.gt, self.le, self.lt, self.choices).problem(value)
        if problem is not None:
            raise UserError(f"{where}: {problem}", hint=self.help)
        return value


def _typed(value: Any, types: tuple[type, ...], where: str, help_text: str) -> Any:
    if isinstance(value, bool) and bool not in types:
        raise UserError(f"{where}: expected {_names(types)}, got bool", hint=help_text)
    if isinstance(value, types):
        return value
    if float in types and isinstance(value, int):
        return float(value)
    raise UserError(f"{where}: expected {_names(types)}, got {type(value).__name__}", hint=help_text)


def _names(types: tuple[type, ...]) -> str:
    return " or ".join({"dict": "a mapping", "list": "a list"}.get(t.__name__, t.__name__) for t in types)


def describe_limits(spec: Any) -> str:
    """`` [int ≥ 1]``-style suffix for an :class:`Option` (empty for a plain tuple or an unconstrained option)."""
    if not isinstance(spec, Option):
        return ""
    parts = [_names(spec.types)] if spec.types and spec.default is not None and spec.choices is None else []
    limits = Check(spec.ge, spec.gt, spec.le, spec.lt, spec.choices).describe()
    parts += [limits] if limits else []
    return f" [{' '.join(parts)}]" if parts else ""


def fill_options(source: str, schema: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` checked against ``schema`` (name → :class:`Option` or ``(default, meaning)``), defaults filled in.

    Unknown names are an error listing the known ones; every :class:`Option` value is type- and range-checked.
    """
    if not isinstance(options, Mapping):
        raise UserError(f"source {source!r}: options must be a mapping, got {type(options).__name__}")
    unknown = sorted(str(name) for name in set(options) - set(schema))
    if unknown:
        raise UserError(f"source {source!r}: unknown options {unknown}", hint=f"known: {sorted(schema)}")
    filled: dict[str, Any] = {}
    for name, spec in schema.items():
        default = spec[0]
        value = options.get(name, default)
        filled[name] = spec.checked(source, name, value) if isinstance(spec, Option) and name in options else value
    return filled
