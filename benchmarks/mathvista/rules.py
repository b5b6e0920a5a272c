"""MathVista's official rule path (``lupantech/MathVista`` ``evaluation/extract_answer.py``: ``extract_answer``;
``evaluation/calculate_score.py``: ``normalize_extracted_answer``, ``safe_equal``), re-implemented from its
behaviour and registered as the ``mathvista_rule`` verifier; plus the query text of the official prompt.

Official, without its LLM: extraction of the response — empty → ``""``; a multiple-choice response that *is* one of
the choices, an integer response ``int()`` reads, a float response ``float()`` reads → itself ("direct
acceptance"); ``The answer is "X".`` → ``X`` (``quick_extract``, the first such line, greedy inside the quotes);
anything else goes to the LLM. Then normalisation by type and string equality with ``answer``:

- ``multi_choice`` (gold is the choice *text*): the first ``(X)`` → X; a letter → its choice; anything else → the
  choice nearest in Levenshtein distance;
- ``integer``: ``str(int(float(x)))``; ``float``: ``str(round(float(x), precision))``; ``list``: ``str(x)``.

Deviations (``ours:…``, docs/benchmarks.md): where the LLM would extract, npo-bench's rules do (``<answer>``,
``\boxed{}``, "Answer:", "the answer is", last line; reasoning before ``</think>`` dropped, quotes around the answer
removed); a letter is also read from ``B.``/"option B"; the Levenshtein-nearest choice counts only when it states the
same value (same text up to case, spaces, ``$`` and degree signs, or the same numbers) — the official rule maps
``36°`` to ``35°`` and an empty extraction to the shortest choice; integers are not truncated (``3.7`` is not 3);
numbers are read past units and thousands separators (``12 cm``, ``1,000``), which ``float()`` refuses, but a last
line of code is no numeric answer (``print(f(0))``); list and text answers are compared after normalising case, spaces
and punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from npo_bench.errors import UserError
from npo_bench.verify.base import gold_error, is_blank
from npo_bench.verify.exact import normalise
from npo_bench.verify.extract import extract, strip_reasoning
from npo_bench.verify.numeric import gold_number, number_in, numbers_match
from npo_bench.verify.safety import MAX_RESPONSE_CHARS, sanitize
from npo_bench.verify.verdict import Verdict
from npo_bench_benchmarks.common.answers import hedged, read_letters, strip_quotes
from npo_bench_benchmarks.common.prompting import CHOICE_INSTRUCTION, OPEN_INSTRUCTION, format_options
from npo_bench_benchmarks.common.scoring import LETTERS, check_options, judged, no_answer, official, ours

ANSWER_TYPES = ("text", "integer", "float", "list")
QUESTION_TYPES = ("multi_choice", "free_form")
VERIFIER = "mathvista_rule"
ACCEPTS = frozenset({"question_type", "answer_type", "options", "precision"})

_QUICK = re.compile(r'The answer is "(.*)"\.')
_BRACKETED_LETTER = re.compile(r"\(([a-zA-Z])\)")
_NUMBERS = re.compile(r"-?\d+(?:\.\d+)?")
_CODE = re.compile(r"[A-Za-z_]\(|^\s*(?:print|return|import|def)\b")
_LEVENSHTEIN_MAX = 500  # longer extractions are no near-miss of a choice
_PLACES = {1: "one decimal place", 2: "two decimal places", 3: "three decimal places"}


def rule_for(question_type: str, answer_type: str, choices: Sequence[str], precision: int | None) -> tuple[str, dict]:
    """(verifier, options) that score one item by the official rule path."""
    options: dict[str, Any] = {"question_type": question_type, "answer_type": answer_type}
    if question_type == "multi_choice":
        options["options"] = list(choices)
    if answer_type == "float":
        options["precision"] = int(precision if precision is not None else 2)
    return VERIFIER, options


# ---- extraction -------------------------------------------------------------------------------------------------
def direct(response: str, question_type: str, answer_type: str, choices: Sequence[str]) -> str | None:
    """The official direct acceptance: the response itself when it is a choice, an int() or a float() reading."""
    if question_type == "multi_choice" and response in choices:
        return response
    try:
        if answer_type == "integer":
            return str(int(response))
        if answer_type == "float":
            return str(float(response))
    except (ValueError, OverflowError):
        return None
    return None


def quick_extract(response: str) -> str | None:
    """``The answer is "X".`` → ``X`` (the official ``quick_extract`` regex: first match, greedy inside quotes)."""
    found = _QUICK.search(response) if "The answer is" in response else None
    return found.group(1) if found else None


def extraction(response: str, question_type: str, answer_type: str, choices: Sequence[str]) -> tuple[str, str]:
    """(extracted answer, rule): the official steps, then npo-bench's rules where the official LLM would extract."""
    if response == "":
        return "", official("empty")
    accepted = direct(response, question_type, answer_type, choices)
    if accepted is not None:
        return accepted, official("direct")
    text = strip_reasoning(response)
    quick = quick_extract(text)
    if quick is not None:
        return quick, official("quick_extract")
    found = extract(text)
    if found is None:
        return "", ours("no_extraction")
    return strip_quotes(found.text), ours(found.rule)


# ---- normalisation and comparison -------------------------------------------------------------------------------
def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions), as the ``Levenshtein`` package computes it."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _canonical(text: str) -> str:
    for old in ("^{\\circ}", "^\\circ", "\\circ", "°", "$", "\\%", " "):
        text = text.replace(old, "%" if old == "\\%" else "")
    return text.lower().rstrip(".")


def same_value(extracted: str, choice: str, choices: Sequence[str]) -> bool:
    """The guard on the Levenshtein-nearest choice: same text up to case/spaces/``$``/degrees, or the same numbers
    (and no other choice has them)."""
    if _canonical(extracted) == _canonical(choice):
        return True
    numbers = _NUMBERS.findall(extracted)
    if not numbers or _NUMBERS.findall(choice) != numbers:
        return False
    return sum(_NUMBERS.findall(other) == numbers for other in choices) == 1


def choose(extracted: str, choices: Sequence[str]) -> tuple[str | None, str]:
    """(the choice the extraction names or None, how): the official normalisation, guarded (module docstring)."""
    text = extracted.strip()
    letters = LETTERS[: len(choices)]
    bracketed = _BRACKETED_LETTER.findall(text)
    if bracketed and bracketed[0].upper() in letters:
        return choices[letters.index(bracketed[0].upper())], official("bracketed_letter")
    if len(text) == 1 and text in letters:
        return choices[letters.index(text)], official("letter")
    if text in choices:
        return text, official("choice_text")
    if hedged(text, letters):
        return None, ours("hedged")
    read = read_letters(text, letters, choices)
    if len(read) == 1:
        return choices[letters.index(next(iter(read)))], ours("letter")
    if not text or len(text) > _LEVENSHTEIN_MAX:
        return None, ours("no_nearest_choice")
    distances = [levenshtein(text, choice) for choice in choices]
    nearest = choices[distances.index(min(distances))]
    if same_value(text, nearest, choices):
        return nearest, official("nearest_choice")
    return None, ours("no_nearest_choice")


def _number(text: str) -> tuple[Any, bool]:
    """(the number ``text`` states or None, whether the official ``float()`` reads it as well)."""
    try:
        float(text)
        plain = True
    except ValueError:
        plain = False
    return number_in(text), plain


def _short_line(line: str) -> bool:
    """A last line that can state a numeric answer: not a line of code (``print(f(0))`` names no answer)."""
    return _CODE.search(line) is None


def score(response: object, gold: Any, **options: Any) -> Verdict:
    """The official extraction and normalisation with the deviations of the module docstring."""
    check_options(VERIFIER, options, ACCEPTS)
    question_type = options.get("question_type", "free_form")
    answer_type = options.get("answer_type", "text")
    choices = [str(c) for c in options.get("options") or ()]
    if is_blank(gold):
        raise gold_error(VERIFIER, gold, options, "it is empty")
    gold = str(gold).strip()
    response = sanitize(response, options.get("max_chars", MAX_RESPONSE_CHARS))
    extracted, rule = extraction(response, question_type, answer_type, choices)
    if question_type == "multi_choice":
        if gold not in choices:
            raise gold_error(VERIFIER, gold, options, "it is not one of the choices")
        chosen, how = choose(extracted, choices)
        if chosen is None:
            return no_answer(how if how.startswith("ours") or rule.startswith("official") else rule, extracted or None)
        return judged(chosen == gold, chosen, rule if rule.startswith("ours") else how)
    if not extracted.strip():
        return no_answer(rule)
    if answer_type in ("integer", "float"):
        expected = gold_number(gold)
        if expected is None:
            raise gold_error(VERIFIER, gold, options, "it is not a number")
        value, plain = _number(extracted)
        if value is None or (rule == ours("last_line") and not _short_line(extracted)):
            return no_answer(rule, extracted)
        precision = options.get("precision") if answer_type == "float" else None
        if precision is not None and (isinstance(precision, bool) or not isinstance(precision, int)):
            raise UserError(f"option precision of the {VERIFIER!r} verifier must be an integer, not {precision!r}")
        correct = numbers_match(value, expected, rel_tol=0.0, precision=precision, percent="exact")
        return judged(correct, extracted, rule if plain or rule.startswith("ours") else ours("number_read"))
    correct = extracted.strip() == gold or normalise(extracted) == normalise(gold)
    return judged(correct, extracted, rule if extracted.strip() == gold or not correct else ours("normalised"))


# ---- the prompt -------------------------------------------------------------------------------------------------
def hint(question_type: str, answer_type: str, precision: int | None) -> str:
    """The official query's hint line for the item's answer type."""
    if question_type == "multi_choice":
        return "Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end."
    if answer_type == "integer":
        return "Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3."
    if answer_type == "float":
        places = _PLACES.get(int(precision if precision is not None else 2), f"{precision} decimal places")
        return f"Please answer the question requiring a floating-point number with {places}."
    if answer_type == "list":
        return "Please answer the question requiring a Python list as an answer, e.g., [1, 2, 3]."
    return "Please answer the question and provide the final answer."


def question_text(item: dict[str, Any]) -> str:
    """Hint, question (with its unit), options, then the chain-of-thought instruction."""
    question = item["question"] + (f" (Unit: {item['unit']})" if item.get("unit") else "")
    lines = [
        f"Hint: {hint(item['question_type'], item['answer_type'], item.get('precision'))}",
        f"Question: {question}",
    ]
    if item["question_type"] == "multi_choice":
        lines += ["Choices:", format_options(item["choices"]), CHOICE_INSTRUCTION]
    else:
        lines.append(OPEN_INSTRUCTION)
    return "\n".join(lines)
