"""MathVerse's versions and its rule path (``ZrrSkywalker/MathVerse`` ``evaluation/score_answer_s2.py``:
``match_answer`` with ``quick_match``; VLMEvalKit ``utils/mathverse.py``: ``post_check_score``), re-implemented and
registered as the ``mathverse_rule`` verifier.

The official scorer is two LLM stages: GPT extracts the answer, then — unless the extraction equals the standard
answer exactly (after stripping), which is correct without asking (the rule stage) — GPT judges it 0/1 against the
answer with ``question_for_eval`` as context. ``npo-bench eval --judge-url`` runs those stages
(:mod:`npo_bench.judge`, ``mode/judge``). Without a judge (``mode/rule``):

1. extraction (official: GPT) by npo-bench's rules — ``<answer>``, ``\\boxed{}``, "Answer:", "the answer is", last
   line; reasoning before ``</think>`` dropped, surrounding quotes removed (``ours:<rule>``);
2. the official rule stage: the extraction equals the answer after stripping → correct (``official:exact``);
3. in place of the GPT judgement: a multiple-choice answer by its option letter (or an option's exact text, the
   options parsed from the question's ``Choices:`` block; a final answer naming two letters is wrong); a free-form
   answer and gold both reduced to their value (``Area $=9\\pi \\mathrm{cm}^2$`` → ``9\\pi``, ``y=2x+1`` → ``2x+1``,
   units and degree signs dropped) and compared by math-verify with both sides ``$``-wrapped, in a worker process
   with a hard timeout (``ours:choice`` / ``ours:value`` / ``ours:math_verify``); a final sentence that fails is
   read once more from its tail, after its last ``=``/``:``/"is" (``ours:sentence_tail``), as the GPT extraction
   would take "…the distance is approximately 22.3 meters" to be 22.3. Expect rule scores below judge scores on
   "domain/range" pairs and answers in words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from npo_bench.errors import UserError
from npo_bench.verify.base import gold_error, is_blank
from npo_bench.verify.extract import extract
from npo_bench.verify.math import MATH
from npo_bench.verify.safety import MAX_RESPONSE_CHARS
from npo_bench.verify.verdict import Verdict
from npo_bench_benchmarks.common.answers import hedged, prepare, read_letters, reduce_to_value, strip_quotes
from npo_bench_benchmarks.common.scoring import LETTERS, check_options, judged, no_answer, official, ours

VERSIONS = ("Text Dominant", "Text Lite", "Vision Intensive", "Vision Dominant", "Vision Only", "Text Only")
IMAGE_VERSIONS = VERSIONS[:5]  # the official "overall" score; Text Only is the separate text_only set
TEXT_ONLY = "Text Only"
DEFAULT_VERSIONS = ("Vision Only",)
QUESTION_TYPES = ("multi-choice", "free-form")
VERIFIER = "mathverse_rule"
ACCEPTS = frozenset({"question_type", "options", "timeout"})
DEFAULT_LETTERS = 5  # A–E when the options are not in the question text (Vision Only: they are in the image)

_CHOICES = re.compile(r"\n\s*Choices\s*:\s*\n", re.IGNORECASE)
_CHOICE_LINE = re.compile(r"^\s*([A-J])\s*[:.)]\s*(.*?)\s*$")


def rule_for(question_type: str, options: Sequence[str] = ()) -> tuple[str, dict]:
    """(verifier, options) for one item."""
    verify_options: dict[str, Any] = {"question_type": question_type}
    if question_type == "multi-choice" and options:
        verify_options["options"] = list(options)
    return VERIFIER, verify_options


def split_choices(question: str) -> list[str]:
    """The option texts of a ``…\\nChoices:\\nA:50°\\nB:60°…`` question (labels A, B, C… in order), else ``[]``."""
    parts = _CHOICES.split(question, maxsplit=1)
    if len(parts) != 2:
        return []
    texts = []
    for line in parts[1].splitlines():
        match = _CHOICE_LINE.match(line)
        if not match or match.group(1) != LETTERS[len(texts) : len(texts) + 1]:
            break
        texts.append(match.group(2))
    return texts if len(texts) >= 2 else []


def wanted_versions(versions: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"all"`` → the six versions; a name or list of names → those (unknown names are a ``ValueError``)."""
    if versions == "all":
        return VERSIONS
    chosen = (versions,) if isinstance(versions, str) else tuple(versions)
    unknown = [v for v in chosen if v not in VERSIONS]
    if unknown:
        raise ValueError(f"unknown MathVerse version(s) {unknown}; known: {', '.join(VERSIONS)} or 'all'")
    return chosen


def score(response: object, gold: Any, **options: Any) -> Verdict:
    """Rule mode (module docstring)."""
    check_options(VERIFIER, options, ACCEPTS)
    question_type = options.get("question_type", "free-form")
    if question_type not in QUESTION_TYPES:
        raise UserError(f"option question_type of {VERIFIER!r} must be one of {QUESTION_TYPES}, not {question_type!r}")
    if is_blank(gold):
        raise gold_error(VERIFIER, gold, options, "it is empty")
    gold = str(gold).strip()
    found = extract(prepare(response, options.get("max_chars", MAX_RESPONSE_CHARS)))
    if found is None:
        return no_answer()
    answer = strip_quotes(found.text)
    if answer.strip() == gold:
        return judged(True, answer, official("exact"))
    if question_type == "multi-choice":
        return _choice(answer, gold, found.rule, options)
    return _free_form(answer, gold, found.rule, options)


def _choice(answer: str, gold: str, rule: str, options: dict[str, Any]) -> Verdict:
    texts = [str(t) for t in options.get("options") or ()]
    letters = LETTERS[: len(texts) or DEFAULT_LETTERS]
    expected = gold.strip("() ").upper()
    if len(expected) != 1 or expected not in letters:
        raise gold_error(VERIFIER, gold, options, f"it is not an option letter {letters[0]}–{letters[-1]}")
    if hedged(answer, letters):
        return judged(False, answer, ours("hedged"))
    read = read_letters(answer, letters, texts)
    if len(read) != 1:
        return no_answer(ours(rule), answer)
    letter = next(iter(read))
    return judged(letter == expected, letter, ours("choice"))


def _free_form(answer: str, gold: str, rule: str, options: dict[str, Any]) -> Verdict:
    gold_value = reduce_to_value(gold)
    tail = sentence_tail(answer)
    if tail != answer and _prose(answer):  # a sentence is no expression: math-verify would only spend time on it
        checked = Verdict.judged(False, answer, "value")
    else:
        checked = _same_value(answer, gold_value, options)
    if checked is not None and not checked.correct and tail != answer:  # "…the distance d is approximately 22.3 m."
        by_tail = _same_value(tail, gold_value, options)
        if by_tail is not None and by_tail.correct:
            return judged(True, tail, ours("sentence_tail"))
    if checked is None:  # a gold math-verify cannot use (words): only the exact comparison applies
        return judged(False, answer, ours(rule))
    rule = ours("value") if checked.rule == "value" else ours("math_verify")
    return Verdict(checked.correct, checked.score, answer, checked.reason, rule)


def _same_value(answer: str, gold_value: str, options: dict[str, Any]) -> Verdict | None:
    """Answer and gold (already reduced) compared: equal values, or math-verify in a worker; None: unusable gold."""
    answer_value = reduce_to_value(answer)
    if answer_value == gold_value:
        return Verdict.judged(True, answer_value, "value")
    try:
        return MATH(f"<answer>{answer_value}</answer>", gold_value, timeout=options.get("timeout", 3.0))
    except UserError:
        return None


_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
PROSE_WORDS = 4


def _prose(text: str) -> bool:
    """More than a few plain words (not LaTeX commands): a sentence, not an expression."""
    return len(_WORD.findall(text)) > PROSE_WORDS


_TAIL = re.compile(r"(?:=|:|\bis\b|\bbe\b|\bequals\b)\s*(?:approximately|about|around|roughly|exactly)?\s*")


def sentence_tail(sentence: str) -> str:
    """What a sentence ends on after its last ``=``, ``:``, "is", "be" or "equals" (the value a final sentence
    states, as the official GPT extraction takes it: "…d is approximately 22.3 meters" → ``22.3 meters``)."""
    last = None
    for last in _TAIL.finditer(sentence):  # noqa: B007 - the last one
        pass
    return sentence[last.end() :].strip().rstrip(".").strip() if last is not None else sentence


score.heavy = True  # type: ignore[attr-defined]  # asks the math worker: verify_many runs it in parallel
