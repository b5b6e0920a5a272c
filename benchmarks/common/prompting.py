"""The default chain-of-thought instruction (benchmarks.md §1.3, §7.4): think, then ``<answer>`` (or ``\\boxed{}``).

It follows the NPO group's ``unified.jinja`` template: reasoning first, then the final answer in ``<answer>`` tags,
only the letter for a multiple-choice question. Extraction also accepts ``\\boxed{}`` so that base models that box
their answers are not penalised.
"""

from __future__ import annotations

from collections.abc import Sequence

LETTERS = "ABCDEFGHIJKLMNOP"  # MMMU-Pro's standard (10 options) has one 12-option item (A–L)

CHOICE_INSTRUCTION = (
    "Think step by step inside <think></think>, then give the final answer inside <answer></answer>: "
    "only the letter of the correct option (or \\boxed{LETTER})."
)
OPEN_INSTRUCTION = (
    "Think step by step inside <think></think>, then give the final answer inside <answer></answer> "
    "(or \\boxed{ANSWER})."
)


def format_options(options: Sequence[str]) -> str:
    """``A. first\\nB. second``: options labelled A, B, C… one per line."""
    return "\n".join(f"{LETTERS[i]}. {option}" for i, option in enumerate(options))


def choice_question(question: str, options: Sequence[str], hint: str | None = None) -> str:
    parts = [f"Hint: {hint}"] if hint else []
    parts += [f"Question: {question}", "Options:", format_options(options), CHOICE_INSTRUCTION]
    return "\n".join(parts)


def open_question(question: str) -> str:
    return f"{question}\n{OPEN_INSTRUCTION}"
