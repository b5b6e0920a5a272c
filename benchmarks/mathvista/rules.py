"""MathVista's scoring rules and prompt, as pure functions (benchmarks.md §2.2).

The official scorer first has an LLM extract the answer; ``npo-bench eval --judge-url`` does that
(:mod:`npo_bench.judge`) and scores the extracted answer with these rules. Without a judge the
verifiers' own extraction is used. Official normalisation, then exact string equality with ``answer``:

- ``multi_choice``: the gold is the choice *text*; the response's letter maps to its choice text → ``choice``
  verifier with ``options=choices`` (a letter or the exact choice text both count). The official Levenshtein-nearest
  fallback is not replicated (lenient; see docs/verifiers.md).
- ``integer``: ``str(int(float(x)))`` → ``numeric`` verifier, integral gold matched exactly. Divergence: the official
  ``int()`` truncates, so it would accept ``3.7`` for ``3``; we do not.
- ``float``: ``str(round(float(x), precision))`` → ``numeric`` with ``precision`` (``14.28`` = ``14.3`` at 1).
- ``list`` and ``text``: ``str(x)`` equality → ``exact`` (normalised: ``[2007, 2008]`` = ``2007, 2008``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from npo_bench_benchmarks.common.prompting import CHOICE_INSTRUCTION, OPEN_INSTRUCTION, format_options

ANSWER_TYPES = ("text", "integer", "float", "list")
QUESTION_TYPES = ("multi_choice", "free_form")

_PLACES = {1: "one decimal place", 2: "two decimal places", 3: "three decimal places"}


def rule_for(question_type: str, answer_type: str, choices: Sequence[str], precision: int | None) -> tuple[str, dict]:
    """(verifier, options) that score one item the official way (module docstring)."""
    if question_type == "multi_choice":
        return "choice", {"options": list(choices)}
    if answer_type == "integer":
        return "numeric", {}
    if answer_type == "float":
        return "numeric", {"precision": int(precision if precision is not None else 2)}
    return "exact", {}


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
