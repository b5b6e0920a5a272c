"""Symbolic math answers: math-verify + sympy, in worker processes under a hard timeout (benchmarks.md §4.2, §4.4
step 5).

Pipeline for one answer:

1. extract (:mod:`npo_bench.verify.extract`), drop ``$`` delimiters; longer than ``MAX_ANSWER_CHARS`` → "too large";
2. refuse pathological input before sympy sees it (:func:`npo_bench.verify.safety.refusal`) → "refused: <why>";
3. in-process fast paths that reproduce math-verify's outcome: the same LaTeX after whitespace/``\\left``/``\\dfrac``
   normalisation → matched; two plain numbers (:mod:`npo_bench.verify.arith`) that are equal → matched; two different
   rationals (no decimal point) → mismatch, and with a decimal on either side, a gap wider than math-verify's
   ``float_rounding`` can absorb → mismatch; with a tolerance, numbers within it → matched. Two more, only for
   LaTeX in a small grammar that latex2sympy reads exactly as :mod:`~npo_bench.verify.arith` does
   (:func:`plain_latex`: numbers, ``+ - * / \\cdot \\times``, ``\\frac``, ``\\sqrt``, ``\\pi``, one ``^`` per factor; no
   ``1e5``, ``1,234``, ``2^3^2``, ``2\\frac12`` or ``(2)(3)``, which the two read differently): an irrational value
   (``3\\sqrt{2}``, ``\\frac{\\pi}{3}``) and a number that differ by more than rounding, float error and any tolerance
   can absorb → mismatch (math-verify's sympy ``simplify`` takes ~10 ms to say so); one letter against a number →
   mismatch, two letters → matched iff equal ignoring case (not ``e``/``E``/``i``/``I``, which sympy reads as
   constants). tests/unit/verify/test_math_fast_path.py checks each decision against the worker;
4. otherwise a worker process parses both sides *wrapped in* ``$…$`` (so ``3\\sqrt{2}``, intervals, equations — the
   right-hand side is compared —, sets and letters parse) and runs ``math_verify.verify``; then, when ``rel_tol`` or
   ``abs_tol`` is given, the numeric fallback compares sympy's numeric values (``4.24`` vs ``3\\sqrt{2}``). A worker
   that runs past ``timeout`` seconds (default 3) is killed → "timeout".

Known limits (§4.2/4.3): degrees and radians are never equated (``60^\\circ`` vs ``\\frac{\\pi}{3}``); without a
tolerance a decimal approximation of an irrational is wrong; ``float_rounding`` (default 6) is math-verify's.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache
from typing import Any

from npo_bench.errors import UserError
from npo_bench.verify import pool
from npo_bench.verify.arith import Number, TokenCursor, parse_number
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
    if len(latex) > 64:
        return None
    try:
        return parse_number(latex)
    except (OverflowError, ZeroDivisionError):  # e.g. 2^{1100}/3-\pi: a Fraction beyond float range; sympy decides
        return None


def _fast_path(answer: str, gold: str, rel_tol: float | None, abs_tol: float | None, rounding: int) -> bool | None:
    """``True``/``False`` when decidable without sympy (same outcome as math-verify), else ``None``."""
    if _squash(answer) == _squash(gold):
        return True
    g, p = _plain_number(gold), _plain_number(answer)
    if g is None or p is None:
        return _letters(answer, gold, g, p)
    if g.percent == p.percent and g.value == p.value:
        return True
    tolerant = rel_tol is not None or abs_tol is not None
    if tolerant and numbers_match(p, g, rel_tol=rel_tol or 0.0, abs_tol=abs_tol or 0.0, percent="either"):
        return True
    if tolerant and not (g.percent or p.percent) and _within_tolerance(p.value, g.value, rel_tol, abs_tol):
        return True  # the worker's numeric fallback, same formula (no "integers must be integral" rule here)
    if g.percent or p.percent:
        return None
    if not isinstance(g.value, Fraction) or not isinstance(p.value, Fraction):
        return False if _irrational_apart(answer, gold, g.value, p.value, rel_tol, abs_tol, rounding) else None
    if not _has_decimal(gold) and not _has_decimal(answer):
        return False  # two rationals: math-verify compares them exactly
    # a decimal on either side: math-verify compares both rounded to `rounding` places, so a wider gap never matches
    return False if abs(g.value - p.value) > Fraction(2, 10**rounding) else None


def _within_tolerance(p: Fraction | float, g: Fraction | float, rel_tol: float | None, abs_tol: float | None) -> bool:
    """``|p − g| ≤ max(abs_tol, rel_tol·|g|)`` in floats, exactly as the worker's numeric fallback decides."""
    try:
        gv, pv = float(g), float(p)
    except OverflowError:
        return False
    return math.isfinite(gv) and math.isfinite(pv) and abs(gv - pv) <= max(abs_tol or 0.0, (rel_tol or 0.0) * abs(gv))


def _has_decimal(latex: str) -> bool:
    return "." in latex or "e" in latex or "E" in latex


# ---- fast decisions on the plain grammar -------------------------------------------------------------------------
# A value arith computes in floating point (roots, π) carries a relative error far below this (a multiplicative
# expression of at most 64 characters: a few dozen roundings of 2**-53); sympy's Floats keep 15 digits.
_FLOAT_SLACK = 1e-9
_MAX_MAGNITUDE = 1e9
_CONSTANT_LETTERS = frozenset("eEiI")  # sympy reads e as Euler's number, I as the imaginary unit
_PLAIN_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?|\.\d+)|(\\(?:frac|sqrt|pi|cdot|times)(?![A-Za-z]))|([-+*/^(){}\[\]]))")
_UNSPACE = tuple((old, new) for old, new in _SQUASH if old != "\\ ")
_NUMBER_FORM = re.compile(r"\d+(?:\.\d+)?|\.\d+")


class _NotPlain(Exception):
    pass


@lru_cache(maxsize=8192)
def plain_latex(latex: str) -> bool:
    """Whether ``latex`` is in the grammar that latex2sympy and :mod:`~npo_bench.verify.arith` read alike.

    ``expr := [+|-] term {(+|-) term}``; ``term := factor {(*|/|\\cdot|\\times) factor | root-or-π factor}`` (an
    implicit product only before ``\\sqrt``/``\\pi``: ``3\\sqrt{2}``, not the mixed number ``2\\frac12`` nor
    ``(2)(3)``); ``factor := atom [^ (digit | {expr})]`` (no ``2^3^2``, no ``2^12``); ``atom := number | (expr) |
    {expr} | \\frac arg arg | \\sqrt[[expr]] arg | \\pi`` with ``arg := {expr} | digit``; numbers are digits with
    at most one decimal point (no ``1e5``, ``1,234``, ``5.``, ``%``).
    """
    if len(latex) > 64:
        return False
    for old, new in _UNSPACE:
        if old in latex:
            latex = latex.replace(old, new)
    tokens, pos, end = [], 0, len(latex.rstrip())
    while pos < end:
        match = _PLAIN_TOKEN.match(latex, pos)
        if not match:
            return False
        tokens.append(match.group(match.lastindex))
        pos = match.end()
    if not tokens:
        return False
    parser = _PlainGrammar(tokens)
    try:
        parser.expr()
    except _NotPlain:
        return False
    return parser.pos == len(tokens)


class _PlainGrammar(TokenCursor):
    """A recogniser (no values) for :func:`plain_latex`; raises :class:`_NotPlain`."""

    reject = _NotPlain

    def expr(self) -> None:
        if self.peek() in ("+", "-"):
            self.take()
        self.term()
        while self.peek() in ("+", "-"):
            self.take()
            self.term()

    def term(self) -> None:
        self.factor()
        while True:
            token = self.peek()
            if token in ("*", "/", "\\cdot", "\\times"):
                self.take()
                self.factor()
            elif token in ("\\sqrt", "\\pi"):
                self.factor()
            else:
                return

    def factor(self) -> None:
        self.atom()
        if self.peek() == "^":
            self.take()
            if self.peek() == "{":
                self.group("{", "}")
            elif not self._single_digit(self.take()):
                raise _NotPlain

    def atom(self) -> None:
        token = self.take()
        if token == "(":
            self.expr()
            self.take(")")
        elif token == "{":
            self.expr()
            self.take("}")
        elif token == "\\frac":
            following = self.peek()
            if following is not None and len(following) == 2 and following.isdigit():
                self.take()  # \frac12
            else:
                self.argument()
                self.argument()
        elif token == "\\sqrt":
            if self.peek() == "[":
                self.group("[", "]")
            self.argument()
        elif token != "\\pi" and not _NUMBER_FORM.fullmatch(token):
            raise _NotPlain

    def argument(self) -> None:
        if self.peek() == "{":
            self.group("{", "}")
        elif not self._single_digit(self.take()):
            raise _NotPlain

    def group(self, left: str, right: str) -> None:
        self.take(left)
        self.expr()
        self.take(right)

    @staticmethod
    def _single_digit(token: str) -> bool:
        return len(token) == 1 and token.isdigit()


def _multiplicative(latex: str) -> bool:
    """No binary ``+``/``-`` (a leading sign is fine): floating-point error stays relative, no cancellation."""
    body = latex.strip()
    body = body[1:] if body[:1] in ("+", "-") else body
    return "+" not in body and "-" not in body


def _irrational_apart(
    answer: str, gold: str, g: Fraction | float, p: Fraction | float, rel_tol, abs_tol, rounding: int
) -> bool:
    """Whether two plain values, at least one irrational (a float), certainly differ for math-verify: sympy's
    ``round(float_rounding)`` comparison and ``simplify(gold - answer)`` both see a gap wider than rounding and float
    error, and (with a tolerance) so does the numeric fallback."""
    if not (plain_latex(answer) and plain_latex(gold)):
        return False
    for value, latex in ((g, gold), (p, answer)):
        if isinstance(value, float) and not _multiplicative(latex):
            return False
    try:
        gv, pv = float(g), float(p)
    except OverflowError:  # a rational beyond float range (10^{400})
        return False
    scale = max(1.0, abs(gv), abs(pv))
    if not (math.isfinite(gv) and math.isfinite(pv)) or scale > _MAX_MAGNITUDE:
        return False
    margin = max(2.0 / 10**rounding, (abs_tol or 0.0) * (1 + _FLOAT_SLACK), (rel_tol or 0.0) * abs(gv) * 1.001)
    return abs(gv - pv) > margin + _FLOAT_SLACK * scale


def _letters(answer: str, gold: str, g: Number | None, p: Number | None) -> bool | None:
    """One ASCII letter against a plain number (mismatch) or another letter (matched iff equal ignoring case):
    math-verify's symbol comparison, with ``e``/``E``/``i``/``I`` (constants for sympy) left to it."""
    a, b = answer.strip(), gold.strip()
    a_letter, b_letter = _lone_letter(a), _lone_letter(b)
    if a_letter and b_letter:
        return a.lower() == b.lower()
    if (a_letter and g is not None and not g.percent and plain_latex(b)) or (
        b_letter and p is not None and not p.percent and plain_latex(a)
    ):
        return False
    return None


def _lone_letter(text: str) -> bool:
    """One ASCII letter that sympy reads as a plain symbol (not ``e``/``E``/``i``/``I``)."""
    return len(text) == 1 and text.isascii() and text.isalpha() and text not in _CONSTANT_LETTERS


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
        latex, why = _gold_latex(str(gold))
        if why:
            raise gold_error(self.name, gold, options, why)
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


@lru_cache(maxsize=4096)
def _gold_latex(gold: str) -> tuple[str, str | None]:
    """The gold's LaTeX and why it cannot be used (``None`` when it can), memoised: a benchmark scores each gold once
    per sample and the checks (unwrapping, the safety scan) are the same every time."""
    latex = as_latex(gold)
    if not latex:
        return latex, "it is empty once $…$ and \\boxed{} are removed"
    if len(latex) > 4 * MAX_ANSWER_CHARS:
        return latex, "it is too large"
    why = refusal(latex)
    return latex, f"it is refused as unsafe ({why})" if why else None


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
