"""Symbolic math answers: math-verify + sympy, in worker processes under a hard timeout (benchmarks.md §4.2, §4.4
step 5).

Pipeline for one answer:

1. extract (:mod:`npo_bench.verify.extract`), drop ``$`` delimiters; longer than ``MAX_ANSWER_CHARS`` → "too large";
2. refuse pathological input before sympy sees it (:func:`npo_bench.verify.safety.refusal`) → "refused: <why>";
3. in-process fast paths that reproduce math-verify's outcome: the same LaTeX after whitespace/``\\left``/``\\dfrac``
   normalisation → matched; two plain numbers (:mod:`npo_bench.verify.arith`) that are equal → matched; two different
   rationals (no decimal point) → mismatch, and with a decimal on either side, a gap wider than math-verify's
   ``float_rounding`` can absorb → mismatch; with a tolerance, numbers within it → matched;
4. otherwise a worker process parses both sides *wrapped in* ``$…$`` (so ``3\\sqrt{2}``, intervals, equations — the
   right-hand side is compared —, sets and letters parse) and runs ``math_verify.verify``; then, when ``rel_tol`` or
   ``abs_tol`` is given, the numeric fallback compares sympy's numeric values (``4.24`` vs ``3\\sqrt{2}``). A worker
   that runs past ``timeout`` seconds (default 3) is killed → "timeout".

Known limits (§4.2/4.3): degrees and radians are never equated (``60^\\circ`` vs ``\\frac{\\pi}{3}``); without a
tolerance a decimal approximation of an irrational is wrong; ``float_rounding`` (default 6) is math-verify's.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any

from npo_bench.errors import UserError
from npo_bench.verify import pool
from npo_bench.verify.arith import Number, parse_number
from npo_bench.verify.base import Verifier, gold_error, is_blank
from npo_bench.verify.extract import Extraction, unwrap
from npo_bench.verify.numeric import numbers_match
from npo_bench.verify.safety import DEFAULT_TIMEOUT, MAX_ANSWER_CHARS, refusal
from npo_bench.verify.verdict import ERROR, NO_ANSWER, REFUSED, TIMEOUT, TOO_LARGE, Verdict

HANDLER = "npo_bench.verify.math_worker:check"
_SQUASH = (
    ("\\left", ""),
    ("\\right", ""),
    ("\\dfrac", "\\frac"),
    ("\\tfrac", "\\frac"),
    ("\\!", ""),
    ("\\,", ""),
    ("\\;", ""),
    ("\\ ", ""),
)


def as_latex(text: str) -> str:
    """An answer as bare LaTeX: presentation unwrapped, ``$`` delimiters and escaped dollars removed."""
    return unwrap(text).replace("\\$", "").replace("$", "").strip()


@lru_cache(maxsize=8192)
def _squash(latex: str) -> str:
    for old, new in _SQUASH:
        if old in latex:
            latex = latex.replace(old, new)
    return "".join(latex.split())


@lru_cache(maxsize=8192)
def _plain_number(latex: str) -> Number | None:
    return parse_number(latex) if len(latex) <= 64 else None


def _fast_path(answer: str, gold: str, rel_tol: float | None, abs_tol: float | None, rounding: int) -> bool | None:
    """``True``/``False`` when decidable without sympy (same outcome as math-verify), else ``None``."""
    if _squash(answer) == _squash(gold):
        return True
    g, p = _plain_number(gold), _plain_number(answer)
    if g is None or p is None:
        return None
    if g.percent == p.percent and g.value == p.value:
        return True
    tolerant = rel_tol is not None or abs_tol is not None
    if tolerant and numbers_match(p, g, rel_tol=rel_tol or 0.0, abs_tol=abs_tol or 0.0, percent="either"):
        return True
    if g.percent or p.percent or not isinstance(g.value, Fraction) or not isinstance(p.value, Fraction):
        return None
    if not _has_decimal(gold) and not _has_decimal(answer):
        return False  # two rationals: math-verify compares them exactly
    # a decimal on either side: math-verify compares both rounded to `rounding` places, so a wider gap never matches
    return False if abs(g.value - p.value) > Fraction(2, 10**rounding) else None


def _has_decimal(latex: str) -> bool:
    return "." in latex or "e" in latex or "E" in latex


class MathVerifier(Verifier):
    """Symbolic equivalence with math-verify + sympy (both sides $-wrapped), in worker processes with a hard timeout."""

    name = "math"
    heavy = True
    accepts = frozenset({"rel_tol", "abs_tol", "float_rounding"})

    def parse_gold(self, gold: Any, options: dict[str, Any]) -> str:
        if isinstance(gold, bool) or is_blank(gold):
            raise gold_error(self.name, gold, options, "it is empty" if not isinstance(gold, bool) else "a boolean")
        if isinstance(gold, float):
            gold = repr(gold)
        latex = as_latex(str(gold))
        if not latex:
            raise gold_error(self.name, gold, options, "it is empty once $…$ and \\boxed{} are removed")
        if len(latex) > 4 * MAX_ANSWER_CHARS:
            raise gold_error(self.name, gold, options, "it is too large")
        why = refusal(latex)
        if why:
            raise gold_error(self.name, gold, options, f"it is refused as unsafe ({why})")
        return latex

    def judge(self, found: Extraction, expected: str, options: dict[str, Any]) -> Verdict:
        answer = as_latex(found.text)
        if not answer:
            return Verdict.failed(NO_ANSWER, found.text, found.rule)
        if len(answer) > MAX_ANSWER_CHARS:
            return Verdict.failed(TOO_LARGE, answer[:200] + "…", found.rule)
        why = refusal(answer)
        if why:
            return Verdict.failed(f"{REFUSED}: {why}", answer, found.rule)
        rel_tol, abs_tol, rounding = _tolerances(options)
        decided = _fast_path(answer, expected, rel_tol, abs_tol, rounding)
        if decided is not None:
            return Verdict.judged(decided, answer, found.rule)
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
        try:
            status, value = pool.get_pool(HANDLER).call(expected, answer, rounding, rel_tol, abs_tol, timeout=timeout)
        except pool.WorkerStartError as exc:
            raise UserError(f"the math verifier cannot start: {exc}", hint="pip install 'math-verify>=0.7'") from exc
        if status == "ok":
            if value == "gold":
                raise gold_error(self.name, expected, options, "math-verify cannot parse it")
            if value == "no answer":
                return Verdict.failed(NO_ANSWER, answer, found.rule)
            return Verdict.judged(value == "matched", answer, found.rule)
        if status == "timeout":
            return Verdict.failed(TIMEOUT, answer, found.rule)
        if status == "error" and value == "MemoryError":
            return Verdict.failed(TOO_LARGE, answer, found.rule)
        what = f"worker raised {str(value).split(':')[0]}" if status == "error" else f"worker {status}"
        return Verdict.failed(f"{ERROR}: {what}", answer, found.rule)


def _tolerances(options: dict[str, Any]) -> tuple[float | None, float | None, int]:
    rel_tol, abs_tol = options.get("rel_tol"), options.get("abs_tol")
    rounding = options.get("float_rounding", 6)
    for name, value in (("rel_tol", rel_tol), ("abs_tol", abs_tol)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise UserError(f"option {name} must be a non-negative number, not {value!r}")
    if isinstance(rounding, bool) or not isinstance(rounding, int) or not 0 <= rounding <= 15:
        raise UserError(f"option float_rounding must be an integer from 0 to 15, not {rounding!r}")
    return rel_tol, abs_tol, rounding


MATH = MathVerifier()
