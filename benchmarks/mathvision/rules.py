"""MathVision's official rule path (``mathllm/MATH-V`` ``evaluation/evaluate.py``: ``evaluate``;
``evaluation/utils.py``: ``find_math_answer``, ``_strip_string``, ``is_equal``, ``eval_tuple``), re-implemented from
its behaviour, quirks included, and registered as the ``mathvision_rule`` verifier.

Official extraction of ``model_answer`` from a response (stripped):

1. a response ending in `` C.`` / `` (C).`` or starting with ``C⏎`` / ``(C)⏎`` / ``(C) C⏎`` (C in A–E) is ``C``;
2. when the text after the last ``is `` (without a final period) is a number, that number;
3. without ``oxed{``: for each of "the final answer is", "the answer is", "the correct answer is", "the answer should
   be" (and the same with "The"), the text after its last occurrence, cut at the first line break and the first
   ``". "``; with several ``\\boxed{``: the last one;
4. ``find_math_answer``: lower-cased; the content of ``oxed{…}`` up to the **last** ``}`` of the text; the part after
   the last ``=`` and ``\\approx``; spaces, ``\\text``, ``\\left``/``\\right``, degrees, ``m^3``, "units", "km"
   removed; then ``_strip_string`` (``\\frac``/``\\sqrt`` braces fixed, ``$`` and ``\\%`` removed, ``a/b`` →
   ``\\frac{a}{b}``, ``0.5`` → ``\\frac{1}{2}``…); ``(a)``/``{a}`` → ``a``; a final period and a leading colon dropped.

``is_equal(gold, answer)``: both lower-cased; empty → no; equal after stripping → yes; tuples/lists ``(…)``/``[…]``
evaluated element-wise (rounded to 2 decimals) and compared; else both evaluated as LaTeX numbers and equal after
``round(·, 2)``. An MC item is correct when the answer equals the gold letter **or** the gold option's text.

Deviations (``ours:…``, docs/benchmarks.md): nothing is ``eval``-ed — numbers go through npo-bench's bounded
evaluator (``\\frac``, ``\\sqrt``, ``\\pi``, powers, products), so an expression it cannot read is "not a number"
where the official ``eval`` might have read it; an ``<answer>…</answer>`` is read on its own (the official rules do
not know the tag); reasoning before ``</think>`` is dropped; an MC final answer naming two letters is wrong; when the
official comparison fails on a free-form gold, the gold and the answer reduced to their value (words, ``=`` labels and
units dropped: ``Area =9\\pi cm^2`` → ``9\\pi``) are compared again — numerically, or for expressions with
math-verify in a worker process with a hard timeout (``x^2+1`` = ``1+x^2``, which the official string comparison
rejects).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from npo_bench.errors import UserError
from npo_bench.verify.arith import parse_number
from npo_bench.verify.base import gold_error, is_blank
from npo_bench.verify.extract import answer_tag
from npo_bench.verify.math import MATH
from npo_bench.verify.safety import MAX_RESPONSE_CHARS
from npo_bench.verify.verdict import Verdict
from npo_bench_benchmarks.common.answers import both, hedged, reduce_to_value, statement
from npo_bench_benchmarks.common.scoring import check_options, judged, no_answer, official, ours

LETTERS = "ABCDE"
VERIFIER = "mathvision_rule"
ACCEPTS = frozenset({"options", "timeout"})
FLAGS = ("the final answer is", "the answer is", "the correct answer is", "the answer should be")
_BOXED_TAIL = re.compile(r"oxed\{(.*)\}", re.S)


def rule_for(answer: str, options: list[str]) -> tuple[str, dict]:
    """(verifier, options) that score one item by the official rule path."""
    return VERIFIER, ({"options": list(options)} if options else {})


# ---- extraction (evaluate.py) -------------------------------------------------------------------------------------
def _is_number(text: str) -> bool:
    try:
        float(text)
    except (ValueError, OverflowError):
        return False
    return True


def model_answer(response: str) -> str:
    """The official ``model_answer`` of a response (module docstring, steps 1–4)."""
    text = response.strip()
    for c in LETTERS:
        if text.endswith((f" {c}.", f" ({c}).")) or text.startswith((f"{c}\n", f"({c})\n", f"({c}) {c}\n")):
            text = c
    after_is = text.split("is ")[-1].rstrip(".")
    if _is_number(after_is):
        text = after_is
    if "oxed{" not in text:
        for flag in FLAGS:
            for phrase in (flag, flag.replace("the", "The")):
                had = phrase in text
                text = text.split(phrase)[-1].strip()
                if had:
                    text = text.split("\n")[0].split(". ")[0]
    elif text.count("oxed{") > 1:
        text = "\\boxed{" + text.split("oxed{")[-1]
    text = find_math_answer(text)
    for c in "abcde":
        text = text.replace(f"({c})", c)
    for c in "abcde":
        text = text.replace("{" + c + "}", c)
    return text.rstrip(".").lstrip(":").strip()


_ANSWER_REPLACEMENTS = (
    (" ", ""), ("\\,", ""), ("∞", "\\infty"), ("+\\infty", "\\infty"), ("\\\\", "\\"), ("\n", ""),
    ("\\text", ""), ("\\mbox", ""), ("bmatrix", "pmatrix"), ("\\left", ""), ("\\right", ""), ("^{\\circ}", ""),
    ("^\\circ", ""), ("{m}^3", ""), ("m^3", ""), ("{units}", ""), ("units", ""), ("{km}", ""), ("km", ""),
)  # fmt: skip


def find_math_answer(text: str) -> str:
    """``utils.find_math_answer``: the boxed content (or the text), after the last ``=``/``\\approx``, cleaned."""
    text = text.lower().replace("{}", "")
    boxed = _BOXED_TAIL.findall(text)
    answer = boxed[-1] if boxed else text
    close = answer.find("}")
    if close != -1 and (answer.find("{") == -1 or close < answer.find("{")):
        answer = answer.split("}")[0]
    answer = answer.split("=")[-1].split("\\approx")[-1]
    for old, new in _ANSWER_REPLACEMENTS:
        answer = answer.replace(old, new)
    return strip_string(answer)


_STRIP_REPLACEMENTS = (
    ("\n", ""), ("\\!", ""), ("\\\\", "\\"), ("tfrac", "frac"), ("dfrac", "frac"), ("\\left", ""), ("\\right", ""),
    ("^{\\circ}", ""), ("^\\circ", ""), ("\\$", ""), ("$", ""),
)  # fmt: skip


def strip_string(text: str) -> str:
    """``utils._strip_string``."""
    for old, new in _STRIP_REPLACEMENTS:
        text = text.replace(old, new)
    text = text.split("\\text{ ")[0]  # units on the right
    text = text.replace("\\%", "").replace(" .", " 0.").replace("{.", "{0.")
    if not text:
        return text
    if text[0] == ".":
        text = "0" + text
    if len(text.split("=")) == 2:
        text = text.split("=")[-1]
    if len(text.split("\\approx")) == 2:
        text = text.split("\\approx")[-1]
    if "sqrt" in text:
        text = _fix_sqrt(text)
    text = text.replace(" ", "")
    if "sqrt" in text:  # the official code fixes fractions only in answers with a root
        text = _fix_fracs(text)
    if text == "0.5":
        text = "\\frac{1}{2}"
    return _fix_a_slash_b(text)


def _fix_sqrt(text: str) -> str:
    head, *parts = text.split("\\sqrt")
    for part in parts:
        head += f"\\sqrt{{{part[0]}}}{part[1:]}" if part and part[0] != "{" else "\\sqrt" + part
    return head


def _fix_fracs(text: str) -> str:
    head, *parts = text.split("\\frac")
    for part in parts:
        head += "\\frac"
        if part.startswith("{"):
            head += part
            continue
        if len(part) < 2:
            return text
        numerator, denominator, rest = part[0], part[1], part[2:]
        denominator = f"{{{denominator}}}" if denominator != "{" else denominator
        head += f"{{{numerator}}}{denominator}{rest}"
    return head


def _fix_a_slash_b(text: str) -> str:
    parts = text.split("/")
    if len(parts) != 2:
        return text
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        return text
    return f"\\frac{{{a}}}{{{b}}}" if text == f"{a}/{b}" else text


# ---- comparison (utils.is_equal) ----------------------------------------------------------------------------------
def value(text: str) -> Fraction | float | None:
    """The number a LaTeX answer denotes, as the official ``eval(str(latex2sympy(x)))`` reads it — bounded, never
    ``eval``: ``\\displaystyle`` is ignored, ``a:b`` is ``a/b`` (left to right), and when the whole text is no
    number its prefix up to the first unmatched ``}`` is read (latex2sympy's parser stops there:
    ``\\frac{8}{9}}.the answer is…`` is 8/9)."""
    text = text.replace("\\displaystyle", "").replace(":", "/")
    number = parse_number(text)
    if number is None:
        cut = _parsed_prefix(text)
        number = parse_number(cut) if cut and cut != text else None
    return None if number is None or number.percent else number.value


def _parsed_prefix(text: str) -> str:
    """``text`` up to its first unmatched ``}``, where latex2sympy's parser stops."""
    depth = 0
    for i, char in enumerate(text):
        depth += (char == "{") - (char == "}")
        if depth < 0:
            return text[:i]
    return text


def _rounded(text: str) -> str:
    """One element of an evaluated tuple: ``str(round(value, 2))`` (an integer stays an integer)."""
    number = value(text)
    if number is None:
        raise ValueError(text)
    if isinstance(number, Fraction) and number.denominator == 1 and "." not in text:
        return str(int(number))
    try:
        return str(round(float(number), 2))
    except OverflowError:
        raise ValueError(text) from None


def eval_tuple(text: str) -> str:
    """``utils.eval_tuple``: ``(a,b,…)``/``[a,b,…]`` with each element evaluated and rounded (unchanged on failure)."""
    if len(text) < 2 or (text[0], text[-1]) not in (("(", ")"), ("[", "]")):
        return text
    elements = text[1:-1].split(",")
    if len(elements) < 2:
        return text
    try:
        inner = ",".join(e if "infty" in e or e in ("a", "-a") else _rounded(e) for e in elements)
    except ValueError:
        return text
    return f"{text[0]}{inner}{text[-1]}"


def is_equal(gold: str, answer: str) -> bool:
    """``utils.is_equal``: exact (lower-cased), tuple-wise, or equal numbers after ``round(·, 2)``."""
    gold, answer = gold.lower(), answer.lower()
    if not gold.replace(" ", "") or not answer.replace(" ", ""):
        return False
    if gold.strip() == answer.strip():
        return True
    gold, answer = eval_tuple(gold), eval_tuple(answer)
    if gold == answer:
        return True
    return _same_rounded(value(gold), value(answer))


def _same_rounded(g: Fraction | float | None, a: Fraction | float | None) -> bool:
    """``round(g, 2) == round(a, 2)``; integers beyond float range compare exactly (the official ``eval`` gives
    Python integers there)."""
    if g is None or a is None:
        return False
    try:
        return round(float(g), 2) == round(float(a), 2)
    except OverflowError:
        return g == a


# ---- the verifier -------------------------------------------------------------------------------------------------
def score(response: object, gold: Any, **options: Any) -> Verdict:
    """The official extraction and ``is_equal`` with the deviations of the module docstring."""
    check_options(VERIFIER, options, ACCEPTS)
    if is_blank(gold):
        raise gold_error(VERIFIER, gold, options, "it is empty")
    gold = str(gold).strip()
    texts = [str(t) for t in options.get("options") or ()]
    if texts and (len(gold) != 1 or gold.upper() not in LETTERS[: len(texts)]):
        raise gold_error(VERIFIER, gold, options, f"it is not one of the option letters {LETTERS[: len(texts)]}")
    gold_text = texts[LETTERS.index(gold.upper())] if texts else ""
    raw, text = both(response, options.get("max_chars", MAX_RESPONSE_CHARS))
    tagged = answer_tag(text)
    rule = official("is_equal")
    if tagged is not None and tagged.strip():
        text, rule = tagged, ours("answer_tag")
    answer = model_answer(text)
    if rule == official("is_equal") and raw != text and model_answer(raw) != answer:
        rule = ours("reasoning_dropped")
    if not answer:
        return no_answer(rule)
    if texts:
        said = statement(text)
        if said is not None and hedged(said.text, LETTERS[: len(texts)]):
            return judged(False, said.text, ours("hedged"))
        return judged(is_equal(gold, answer) or is_equal(gold_text, answer), answer, rule)
    if is_equal(gold, answer):
        return judged(True, answer, rule)
    return _by_value(gold, answer, rule, options)


def _by_value(gold: str, answer: str, rule: str, options: dict[str, Any]) -> Verdict:
    """The free-form deviation: gold and answer reduced to their values, compared as numbers or with math-verify."""
    gold_value, answer_value = reduce_to_value(gold), reduce_to_value(answer)
    if (gold_value, answer_value) != (gold, answer) and is_equal(gold_value, answer_value):
        return judged(True, answer, ours("value"))
    if value(gold_value) is not None or not answer_value:
        return judged(False, answer, rule)
    try:
        checked = MATH(f"<answer>{answer_value}</answer>", gold_value, timeout=options.get("timeout", 3.0))
    except UserError:  # a gold math-verify cannot use: the official comparison stands
        return judged(False, answer, rule)
    if checked.correct:
        return judged(True, answer, ours("math_verify"))
    return Verdict(False, 0.0, answer, checked.reason if checked.reason != "matched" else "mismatch", rule)


score.heavy = True  # type: ignore[attr-defined]  # may ask the math worker: verify_many runs it in parallel
