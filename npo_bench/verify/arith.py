"""A bounded, side-effect-free evaluator for numeric answers (never ``eval``).

Accepts decimals, scientific notation, thousands separators (``1,234``), a trailing percent (``60%``, ``60\\%``), and
a small LaTeX/plain arithmetic grammar: ``+ - * / ^``, ``\\frac{a}{b}`` (also ``\\frac12``, ``\\dfrac``), ``a/b``,
``\\sqrt{x}``, ``\\sqrt[n]{x}``, ``\\pi``, ``\\times``/``\\cdot``, brackets and implicit products (``3\\sqrt{2}``,
``2\\pi``). Exact values stay :class:`fractions.Fraction`; roots and π become floats. Every step is bounded
(input length, nesting, exponent and digit limits from :mod:`npo_bench.verify.safety`), so evaluation is O(input).
This is the numeric path of benchmarks.md §4.4 step 4 ("parse both to floats (handle ``,``, ``%``, ``\\frac``,
``\\sqrt``, π)").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from npo_bench.verify.safety import MAX_DIGITS, MAX_EXPONENT, MAX_NESTING

MAX_EXPRESSION_CHARS = 200

Value = Fraction | float


@dataclass(frozen=True)
class Number:
    """A parsed number: ``value`` as written (``60`` for ``60%``) and whether it carried a percent sign."""

    value: Value
    percent: bool = False

    @property
    def canonical(self) -> Value:
        """The value with the percent applied (``60%`` → ``0.6``)."""
        return self.value / 100 if self.percent else self.value

    @property
    def is_integer(self) -> bool:
        return isinstance(self.value, Fraction) and self.value.denominator == 1


_PLAIN = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")
_PERCENT_TAIL = re.compile(r"\s*(?:\\?%|\\percent)\s*$")
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,4}(?!\d))?)|(?P<cmd>\\[A-Za-z]+)|(?P<op>\*\*|[-+*/^(){}\[\]]))"
)
_REPLACEMENTS = (
    ("\\left", ""),
    ("\\right", ""),
    ("\\dfrac", "\\frac"),
    ("\\tfrac", "\\frac"),
    ("\\cdot", "*"),
    ("\\times", "*"),
    ("\\div", "/"),
    ("\\,", ""),
    ("\\;", ""),
    ("\\!", ""),
    ("\\ ", " "),
    ("$", ""),
    ("×", "*"),
    ("·", "*"),
    ("÷", "/"),
    ("−", "-"),
    ("–", "-"),
    ("π", "\\pi "),
    ("√", "\\sqrt"),
)


def parse_number(text: str) -> Number | None:
    """The number ``text`` denotes, or ``None`` when it is not a bounded numeric expression."""
    text = text.strip()
    if _PLAIN.fullmatch(text):  # fast path: "3", "-0.25"
        return Number(Fraction(text)) if len(text) <= MAX_DIGITS else None
    if len(text) > MAX_EXPRESSION_CHARS:
        return None
    for old, new in _REPLACEMENTS:
        if old in text:
            text = text.replace(old, new)
    text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    percent = False
    tail = _PERCENT_TAIL.search(text)
    if tail:
        percent, text = True, text[: tail.start()]
    value = evaluate(text)
    return None if value is None else Number(value, percent)


def evaluate(text: str) -> Value | None:
    """Evaluate a normalised arithmetic expression; ``None`` on any syntax error or bound violation."""
    tokens = _tokenize(text)
    if not tokens:
        return None
    parser = _Parser(tokens)
    try:
        value = parser.expr()
    except (_Reject, OverflowError):  # OverflowError: an exact value beyond float range (2^1100 / 3 − π)
        return None
    if parser.pos != len(tokens):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _tokenize(text: str) -> list[str] | None:
    tokens, pos, end = [], 0, len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if not match:
            return None
        tokens.append(match.group("num") or match.group("cmd") or match.group("op"))
        pos = match.end()
    return tokens


class _Reject(Exception):
    pass


_ATOM_START = {"(", "{", "\\frac", "\\sqrt", "\\pi"}


class TokenCursor:
    """A position in a token list for recursive-descent parsers: ``take`` raises ``reject`` at the end of the tokens
    or on a token other than the expected one."""

    reject: type[Exception] = _Reject

    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise self.reject
        self.pos += 1
        return token


class _Parser(TokenCursor):
    """Recursive descent over tokens; each level checks the nesting bound."""

    def __init__(self, tokens: list[str]):
        super().__init__(tokens)
        self.depth = 0

    def expr(self) -> Value:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _Reject
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        self.depth -= 1
        return value

    def term(self) -> Value:
        value = self.unary()
        while True:
            token = self.peek()
            if token in ("*", "/"):
                self.take()
                rhs = self.unary()
                value = value * rhs if token == "*" else _divide(value, rhs)
            elif token in _ATOM_START:  # implicit product: 3\sqrt{2}, 2\pi, 2(3+1)
                value = value * self.power()
            else:
                return value

    def unary(self) -> Value:
        token = self.peek()
        if token in ("-", "+"):
            self.take()
            value = self.unary()
            return -value if token == "-" else value
        return self.power()

    def power(self) -> Value:
        base = self.atom()
        if self.peek() in ("^", "**"):
            self.take()
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise _Reject
            exponent = self.unary()
            self.depth -= 1
            return _power(base, exponent)
        return base

    def atom(self) -> Value:
        token = self.take()
        if token in ("(", "{"):
            value = self.expr()
            self.take(")" if token == "(" else "}")
            return value
        if token == "\\frac":
            numerator = self.argument()
            return _divide(numerator, self.argument())
        if token == "\\sqrt":
            index: Value = Fraction(2)
            if self.peek() == "[":
                self.take()
                index = self.expr()
                self.take("]")
            return _root(self.argument(), index)
        if token == "\\pi":
            return math.pi
        if token[0].isdigit() or token[0] == ".":
            if len(token) > MAX_DIGITS:
                raise _Reject
            return Fraction(token)
        raise _Reject

    def argument(self) -> Value:
        """A LaTeX argument: ``{expr}``, or a single digit (``\\frac12``)."""
        token = self.peek()
        if token == "{":
            return self.atom()
        if token is not None and token.isdigit():
            if len(token) > 1:
                self.tokens[self.pos] = token[1:]
            else:
                self.pos += 1
            return Fraction(int(token[0]))
        if token == "\\pi":
            return self.atom()
        raise _Reject


def _divide(a: Value, b: Value) -> Value:
    if b == 0:
        raise _Reject
    return a / b


def _power(base: Value, exponent: Value) -> Value:
    if isinstance(exponent, Fraction) and exponent.denominator == 1 and isinstance(base, Fraction):
        e = exponent.numerator
        if abs(e) > MAX_EXPONENT:
            raise _Reject
        size = max(abs(base.numerator), base.denominator)
        if size > 1 and abs(e) * math.log10(size) > MAX_DIGITS:
            raise _Reject
        if base == 0 and e < 0:
            raise _Reject
        return base**e
    try:
        result = float(base) ** float(exponent)
    except (OverflowError, ZeroDivisionError):
        raise _Reject from None
    if isinstance(result, complex) or not math.isfinite(result):
        raise _Reject
    return result


def _root(value: Value, index: Value) -> Value:
    if index == 0:
        raise _Reject
    if isinstance(value, Fraction) and index == 2 and value >= 0:
        num, den = math.isqrt(value.numerator), math.isqrt(value.denominator)
        if num * num == value.numerator and den * den == value.denominator:
            return Fraction(num, den)
    if value < 0:
        raise _Reject
    try:
        return float(value) ** (1.0 / float(index))
    except (OverflowError, ZeroDivisionError):
        raise _Reject from None
