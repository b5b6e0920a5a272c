"""Numbers with the benchmarks' tolerance rules (benchmarks.md §4.3 "Numeric tolerance", "Units and percents";
§4.4 step 4).

The prediction is the extracted answer's value: the right-hand side of its last ``=`` / ``\\approx``, with units
(``cm``, ``\\text{kg}``, ``°``, ``^\\circ``, "apples") stripped, evaluated by :mod:`npo_bench.verify.arith`; when that
fails, its last number-like token (``1,234.5``, ``-3``, ``3/4``, ``\\frac{1}{2}``, ``60%``).

Comparison, in order of precedence:

- ``precision=k``: MathVista's rule, ``round(pred, k) == round(gold, k)`` (Python rounding, as MathVista does);
- an integral gold must be matched exactly ("integers must be integral": 1000050 is not 1000000);
- otherwise ``|pred - gold| <= max(abs_tol, rel_tol * |gold|)`` (defaults ``rel_tol=1e-4``, ``abs_tol=0``;
  DynaMath is ``abs_tol=1e-3``, MathVision ``precision=2``).

Percent (``percent="either"``, default): ``60%`` equals ``0.6``; a percent on one side only may also match the bare
number (``60%`` vs ``60``). ``percent="exact"`` keeps only the first rule.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from npo_bench.errors import UserError
from npo_bench.verify.arith import MAX_EXPRESSION_CHARS, Number, Value, parse_number
from npo_bench.verify.base import Verifier, gold_error, is_blank
from npo_bench.verify.extract import Extraction
from npo_bench.verify.verdict import NO_ANSWER, Verdict

DEFAULT_REL_TOL = 1e-4
PERCENT_MODES = ("either", "exact")

_UNITS = re.compile(
    r"(?:\s*(?:\\(?:text|mathrm|mbox|rm|textrm|operatorname)\s*\{[^{}]*\}|\^\s*\{?\\circ\}?|\\circ|°|\\degree"
    r"|(?<![\\A-Za-z])[A-Za-z]+(?:\^\{?\d\}?|²|³)?)\.?)+\s*$"
)
_TOKEN = re.compile(
    r"\\[dt]?frac\s*(?:\{[^{}]{1,50}\}\s*\{[^{}]{1,50}\}|\d\d)"
    r"|[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+)?(?:\s*\\?%)?"
    r"|[-−]?\.\d+(?:\s*\\?%)?"
)
_RELATION = re.compile(r"=|\\approx|≈|\\simeq|\\sim(?![a-z])")


def number_in(text: str) -> Number | None:
    """The number an extracted answer states (see the module docstring), or ``None``."""
    direct = parse_number(text)
    if direct is not None:
        return direct
    tail = text
    relation = None
    for relation in _RELATION.finditer(text[-MAX_EXPRESSION_CHARS * 4 :]):  # noqa: B007 - the last one
        pass
    if relation is not None:
        tail = text[-MAX_EXPRESSION_CHARS * 4 :][relation.end() :]
    tail = tail[-MAX_EXPRESSION_CHARS:].replace("\\$", "").replace("$", "").strip()
    stripped = _UNITS.sub("", tail).strip()
    if stripped and stripped != text:
        value = parse_number(stripped)
        if value is not None:
            return value
    last = None
    for last in _TOKEN.finditer(tail):  # noqa: B007 - the last one
        pass
    return parse_number(last.group(0)) if last is not None else None


@lru_cache(maxsize=4096)
def _parse_gold_text(text: str) -> Number | None:
    return number_in(text)


def gold_number(gold: Any) -> Number | None:
    """The gold as a :class:`Number` (``int``, ``float``, ``Fraction``, ``Decimal`` or text)."""
    if isinstance(gold, bool):
        return None
    if isinstance(gold, int):
        return Number(Fraction(gold))
    if isinstance(gold, (Fraction, Decimal)):
        return Number(Fraction(gold))
    if isinstance(gold, float):
        return Number(Fraction(repr(gold))) if gold == gold and abs(gold) != float("inf") else None
    if isinstance(gold, str):
        return _parse_gold_text(gold.strip())
    return None


def _close(pred: Value, gold: Value, rel_tol: float, abs_tol: float, precision: int | None) -> bool:
    try:
        if precision is not None:
            return round(float(pred), precision) == round(float(gold), precision)
        if pred == gold:
            return True
        if isinstance(gold, Fraction) and gold.denominator == 1:
            return False  # integers must be integral
        return abs(float(pred) - float(gold)) <= max(abs_tol, rel_tol * abs(float(gold)))
    except OverflowError:  # beyond float range: only exact equality counts
        return False


def numbers_match(
    pred: Number,
    gold: Number,
    *,
    rel_tol: float = DEFAULT_REL_TOL,
    abs_tol: float = 0.0,
    precision: int | None = None,
    percent: str = "either",
) -> bool:
    """Whether ``pred`` states ``gold`` under the tolerance and percent rules above."""
    if _close(pred.canonical, gold.canonical, rel_tol, abs_tol, precision):
        return True
    return (
        percent == "either"
        and pred.percent != gold.percent
        and _close(pred.value, gold.value, rel_tol, abs_tol, precision)
    )


class NumericVerifier(Verifier):
    """Numbers: tolerance, percentages, thousands separators, units stripped, MathVista precision rounding."""

    name = "numeric"
    accepts = frozenset({"rel_tol", "abs_tol", "precision", "percent"})

    def parse_gold(self, gold: Any, options: dict[str, Any]) -> Number:
        if is_blank(gold):
            raise gold_error(self.name, gold, options, "it is empty")
        number = gold_number(gold)
        if number is None:
            raise gold_error(self.name, gold, options, "it is not a number")
        return number

    def judge(self, found: Extraction, expected: Number, options: dict[str, Any]) -> Verdict:
        pred = number_in(found.text)
        if pred is None:
            return Verdict.failed(NO_ANSWER, found.text, found.rule)
        correct = (
            numbers_match(pred, expected, **tolerance_options(options)) if options else numbers_match(pred, expected)
        )
        return Verdict.judged(correct, found.text, found.rule)


def tolerance_options(options: dict[str, Any]) -> dict[str, Any]:
    """The validated ``rel_tol``/``abs_tol``/``precision``/``percent`` options."""
    rel_tol = options.get("rel_tol", DEFAULT_REL_TOL)
    abs_tol = options.get("abs_tol", 0.0)
    precision = options.get("precision")
    percent = options.get("percent", "either")
    for name, value in (("rel_tol", rel_tol), ("abs_tol", abs_tol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise UserError(f"option {name} must be a non-negative number, not {value!r}")
    if precision is not None and (isinstance(precision, bool) or not isinstance(precision, int) or precision < 0):
        raise UserError(f"option precision must be a non-negative integer (decimal places), not {precision!r}")
    if percent not in PERCENT_MODES:
        raise UserError(f"option percent must be one of {', '.join(PERCENT_MODES)}, not {percent!r}")
    return {"rel_tol": float(rel_tol), "abs_tol": float(abs_tol), "precision": precision, "percent": percent}


NUMERIC = NumericVerifier()
