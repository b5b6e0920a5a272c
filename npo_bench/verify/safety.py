"""Safety limits applied before any parser sees model output (benchmarks.md §4.4: "in a subprocess with a timeout").

Guarantees (docs/verifiers.md, "Safety"):

- nothing is ever ``eval``/``exec``-ed: numbers go through :mod:`npo_bench.verify.arith` (a bounded recursive-descent
  parser) and symbolic work through math-verify/sympy in worker processes;
- a response is capped at ``max_chars`` characters *keeping the tail* (answers come last), NUL bytes are dropped and
  invalid UTF-8 / lone surrogates become U+FFFD;
- an extracted expression is refused before sympy sees it when it is a power tower (3+ stacked exponents), has an
  exponent or factorial whose numeric size exceeds the limits, a number with more than ``MAX_DIGITS`` digits, or
  brackets nested deeper than ``MAX_NESTING``;
- symbolic verification runs under a hard wall-clock timeout enforced by killing its worker process
  (:mod:`npo_bench.verify.pool`), which works in any thread and inside Ray workers, unlike math-verify's
  ``signal.alarm`` (environment.md §7).
"""

from __future__ import annotations

import math
import re

MAX_RESPONSE_CHARS = 50_000  # ~12k tokens: more than any benchmark's generation budget
MAX_ANSWER_CHARS = 1_000  # an extracted math answer longer than this is "too large"
MAX_NESTING = 50
MAX_DIGITS = 1_000
MAX_EXPONENT = 10_000  # |exponent| bound: 10^10000 has 10001 digits, still cheap for sympy
MAX_FACTORIAL = 1_000
MAX_TOWER = 2  # a^{b^{c}} is allowed, a^{b^{c^{d}}} is a power tower
DEFAULT_TIMEOUT = 3.0  # seconds per symbolic verification

_LOG10_MAX_EXPONENT = math.log10(MAX_EXPONENT)
_OPEN = {"{": "}", "(": ")", "[": "]"}
_HUGE_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1}}}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def sanitize(response: object, max_chars: int = MAX_RESPONSE_CHARS) -> str:
    """A safe ``str`` to parse: bytes decoded, tail kept within ``max_chars``, NULs dropped, surrogates replaced."""
    if response is None:
        return ""
    if isinstance(response, (bytes, bytearray)):
        response = bytes(response[-4 * max_chars :]).decode("utf-8", "replace")
    elif not isinstance(response, str):
        raise TypeError(f"a response must be str or bytes, not {type(response).__name__}")
    if len(response) > max_chars:
        response = response[-max_chars:]
    if not response.isascii():
        try:
            response.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates cannot be sent to a worker or printed
            response = response.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if "\x00" in response:
        response = response.replace("\x00", "")
    return response


def refusal(expr: str) -> str | None:
    """Why ``expr`` must not reach sympy (``"power tower"``, ``"huge exponent"``…), or ``None`` when it is safe.

    The checks are linear or bounded by ``MAX_NESTING``; they over-approximate, so a refusal never hides a hang.
    """
    if nesting_depth(expr) > MAX_NESTING:
        return "nesting too deep"
    if _HUGE_NUMBER.search(expr):
        return "huge number"
    if "^" in expr or "**" in expr:
        why = _power_refusal(expr)
        if why:
            return why
    if "!" in expr:
        return _factorial_refusal(expr)
    return None


def nesting_depth(expr: str) -> int:
    """The deepest bracket nesting (``{``, ``(``, ``[``) in ``expr``; stops counting past ``MAX_NESTING + 1``."""
    depth = deepest = 0
    for ch in expr:
        if ch in "{([":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_NESTING:
                    return deepest
        elif ch in "})]" and depth:
            depth -= 1
    return deepest


# ---- powers ----------------------------------------------------------------------------------------------------
def _group_end(text: str, start: int) -> int:
    """Index just past the bracket group opening at ``start`` (or ``len(text)`` when it never closes)."""
    close = _OPEN[text[start]]
    opener = text[start]
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == opener:
            depth += 1
        elif ch == close:
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _operand_end(text: str, start: int) -> int:
    """Index just past the exponent/factorial operand starting at ``start`` (braces, parentheses, a number,
    a ``\\command`` with its brace arguments, or one character)."""
    n = len(text)
    i = start
    while i < n and text[i] == " ":
        i += 1
    if i >= n:
        return n
    ch = text[i]
    if ch in _OPEN:
        return _group_end(text, i)
    if ch.isdigit() or ch == ".":
        match = _NUMBER.match(text, i)
        return match.end() if match else i + 1
    if ch in "+-":
        return _operand_end(text, i + 1)
    if ch == "\\":
        j = i + 1
        while j < n and text[j].isalpha():
            j += 1
        for _ in range(2):  # \frac{a}{b}, \sqrt{x}
            if j < n and text[j] == "{":
                j = _group_end(text, j)
        return max(j, i + 2)
    return i + 1


def _power_chain_end(text: str, start: int) -> int:
    """Like :func:`_operand_end`, extended over right-associative chains (``2**2**2``, ``2^2^2``)."""
    end = _operand_end(text, start)
    while True:
        rest = end
        while rest < len(text) and text[rest] == " ":
            rest += 1
        if text.startswith("**", rest):
            end = _operand_end(text, rest + 2)
        elif text.startswith("^", rest):
            end = _operand_end(text, rest + 1)
        else:
            return end


def _exponents(text: str) -> list[tuple[str, str]]:
    """The top-level ``(base, exponent)`` pairs of ``text`` (``^`` and ``**``), base being the literal before it."""
    pairs = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _OPEN:  # skip nested groups: they are searched when the exponent containing them is
            end = _group_end(text, i)
            pairs.extend(_exponents(text[i + 1 : end - 1]))
            i = end
            continue
        if ch == "^" or (ch == "*" and text.startswith("**", i)):
            op_end = i + (2 if ch == "*" else 1)
            end = _power_chain_end(text, op_end)
            base = re.search(r"(\d+(?:\.\d+)?)\s*$", text[max(0, i - MAX_DIGITS) : i])
            exponent = text[op_end:end].strip()
            if exponent[:1] in _OPEN:
                exponent = exponent[1:-1] if exponent[-1:] == _OPEN[exponent[0]] else exponent[1:]
            pairs.append((base.group(1) if base else "", exponent))
            i = end
            continue
        i += 1
    return pairs


def _log10_bound(expr: str, height: int) -> float:
    """log10 of a rough upper bound of ``|expr|`` (max over its numbers and powers); inf for towers."""
    if height > MAX_TOWER:
        return math.inf
    bound = 0.0
    for number in _NUMBER.findall(_strip_exponents(expr)):
        bound = max(bound, math.log10(max(float(number), 1.0)))
    for base, exponent in _exponents(expr):
        inner = _log10_bound(exponent, height + 1)
        if inner == math.inf:
            return math.inf
        base_log = math.log10(max(float(base), 2.0)) if base else 1.0
        bound = max(bound, base_log * 10 ** min(inner, 300.0))
    return bound


def _strip_exponents(expr: str) -> str:
    out, i = [], 0
    while i < len(expr):
        if expr[i] == "^" or expr.startswith("**", i):
            op_end = i + (2 if expr[i] == "*" else 1)
            i = _operand_end(expr, op_end)
            out.append(" ")
            continue
        out.append(expr[i])
        i += 1
    return "".join(out)


def _tower_height(expr: str) -> int:
    heights = [1 + _tower_height(exponent) for _, exponent in _exponents(expr)]
    return max(heights, default=0)


def _power_refusal(expr: str) -> str | None:
    if _tower_height(expr) > MAX_TOWER:
        return "power tower"
    for _, exponent in _exponents(expr):
        if _log10_bound(exponent, 1) > _LOG10_MAX_EXPONENT:
            return "huge exponent"
    return None


# ---- factorials ------------------------------------------------------------------------------------------------
def _factorial_refusal(expr: str) -> str | None:
    for match in re.finditer(r"(?<!\\)!(?!=)", expr):
        before = expr[: match.start()].rstrip()
        if not before:
            continue
        if before[-1].isdigit():
            number = re.search(r"(\d+)$", before[-MAX_DIGITS - 1 :])
            if number and int(number.group(1)) > MAX_FACTORIAL:
                return "huge factorial"
        elif before[-1] in ")}]":
            group = _group_before(before)
            if "!" in group or _log10_bound(group, 1) > math.log10(MAX_FACTORIAL):
                return "huge factorial"
        elif before[-1] == "!":
            return "huge factorial"
    return None


def _group_before(text: str) -> str:
    """The bracket group ending at the end of ``text`` (without its brackets)."""
    closer = text[-1]
    opener = {")": "(", "}": "{", "]": "["}[closer]
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == closer:
            depth += 1
        elif text[i] == opener:
            depth -= 1
            if depth == 0:
                return text[i + 1 : -1]
    return text[:-1]
