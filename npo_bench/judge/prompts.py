"""The judge's pure half: prompts, the request body and the parsers of LLM outputs (no I/O).

Few-shot answer extraction (MathVista; MathVerse stage 1), the 0/1 equivalence judgement (MathVerse stage 2) and the
multiple-choice fallback (VLMEvalKit), each as chat messages; then parsers of what the LLM replies and the small
deterministic checks the protocols run before asking it (direct acceptance, exact equality, allowed letters).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

Message = dict[str, str]
LETTERS = "ABCDEFGHIJ"
NONE_OF_THEM = "Z"  # VLMEvalKit's answer for "no option matches"

# ---- prompts (pure) --------------------------------------------------------------------------------------------
EXTRACTION_INSTRUCTION = (
    "Read a model's response to a question and copy out the model's final answer only: a number, an option letter "
    "or option text, a list, an expression or a short phrase, exactly as the model gave it. Do not solve the "
    "question yourself and do not correct the model. If the response gives no final answer, write nothing after "
    "'Extracted answer:'."
)
# (question, response, extracted answer): written for npo-bench, in the spirit of MathVista's 5-shot demos
EXTRACTION_DEMOS: tuple[tuple[str, str, str], ...] = (
    (
        "How many red blocks are in the tower?",
        "I count the red layers from the bottom: one, two, then a blue one, then three more red. So 5 red blocks.",
        "5",
    ),
    (
        "What fraction of the circle is shaded? Answer with two decimal places.",
        "Three of the eight equal sectors are shaded, so the fraction is 3/8, which is 0.375, about 0.38.",
        "0.38",
    ),
    (
        "Which shape is a rhombus?\nChoices:\n(A) the first\n(B) the second\n(C) the third",
        "The first has unequal sides. The second has four equal sides but no right angles. The answer is (B).",
        "B",
    ),
    (
        "In which years did sales exceed 100 units? Answer with a Python list.",
        "Sales pass 100 only in the two bars labelled 2019 and 2021, so the answer is [2019, 2021].",
        "[2019, 2021]",
    ),
    (
        "Find the equation of the line through the two marked points.",
        "The slope is (7-3)/(2-0) = 2 and the intercept is 3, therefore the line is y = 2x + 3.",
        "y = 2x + 3",
    ),
)

JUDGEMENT_INSTRUCTION = (
    "Decide whether a model's answer means the same as the standard answer of a math question. Equivalent forms "
    "count as the same (1/2 and 0.5; y=2x+1 and 2x-y+1=0; an option letter and that option's text). Reply with one "
    "digit: 1 if they are equivalent, 0 if they are not."
)
# (question, standard answer, model answer, judgement)
JUDGEMENT_DEMOS: tuple[tuple[str, str, str, str], ...] = (
    ("What is the length of side AB?", "3\\sqrt{2}", "\\sqrt{18}", "1"),
    ("Find the range of the function.", "[0, 4)", "0 <= y <= 4", "0"),
    ("Which option is correct?\nA: 30°\nB: 45°\nC: 60°", "B", "45°", "1"),
)

CHOICE_INSTRUCTION = (
    "Match a model's answer to the options of a multiple-choice question. Reply with the single capital letter of "
    "the option the answer chose or means ({letters}); reply {none} if the answer matches none of them or chooses "
    "nothing."
)


def extraction_messages(question: str, response: str) -> list[Message]:
    """Few-shot answer extraction (MathVista's protocol; MathVerse's stage 1): demos, then the item."""
    demos = "\n\n".join(_extraction_block(q, r, a) for q, r, a in EXTRACTION_DEMOS)
    content = f"{EXTRACTION_INSTRUCTION}\n\n{demos}\n\n{_extraction_block(question, response, '')}"
    return [{"role": "user", "content": content.rstrip()}]


def _extraction_block(question: str, response: str, extracted: str) -> str:
    return f"Question: {question}\n\nModel response: {response}\n\nExtracted answer: {extracted}"


def judgement_messages(question: str, gold: str, extracted: str) -> list[Message]:
    """MathVerse's stage 2: a 0/1 equivalence judgement with ``question_for_eval`` as context."""
    demos = "\n\n".join(_judgement_block(q, g, a, j) for q, g, a, j in JUDGEMENT_DEMOS)
    content = f"{JUDGEMENT_INSTRUCTION}\n\n{demos}\n\n{_judgement_block(question, gold, extracted, '')}"
    return [{"role": "user", "content": content.rstrip()}]


def _judgement_block(question: str, gold: str, extracted: str, judgement: str) -> str:
    return f"Question: {question}\nStandard answer: {gold}\nModel answer: {extracted}\nJudgement: {judgement}"


def choice_messages(question: str, letters: str, response: str) -> list[Message]:
    """VLMEvalKit's MC fallback: which option (``letters``) does the response choose, or ``Z`` for none."""
    instruction = CHOICE_INSTRUCTION.format(letters=", ".join(letters), none=NONE_OF_THEM)
    content = f"{instruction}\n\nQuestion and options:\n{question}\n\nModel answer: {response}\n\nLetter:"
    return [{"role": "user", "content": content}]


def request_body(model: str, messages: list[Message], max_tokens: int) -> dict[str, Any]:
    """The ``/chat/completions`` body: greedy (temperature 0), bounded output."""
    return {"model": model, "messages": messages, "temperature": 0, "max_tokens": max_tokens}


# ---- outputs (pure) --------------------------------------------------------------------------------------------
_EXTRACTED_LABEL = re.compile(r"^\s*(?:extracted\s+)?answer\s*:\s*", re.IGNORECASE)
_DIGIT = re.compile(r"(?<![\d.])([01])(?![\d.])")
_LABELLED_DIGIT = re.compile(r"judge?ment\s*:\s*\**\s*([01])(?![\d.])", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")


def parse_extraction(output: str) -> str:
    """The extracted answer: the first line after an ``Extracted answer:`` label, without quotes."""
    lines = [line for line in _EXTRACTED_LABEL.sub("", output.strip()).splitlines() if line.strip()]
    return lines[0].strip().strip("\"'`").strip() if lines else ""


def parse_judgement(output: str) -> bool | None:
    """``1`` → True, ``0`` → False: the digit after the last ``Judgement:``, else the last standalone 0/1; else None."""
    found = _LABELLED_DIGIT.findall(output) or _DIGIT.findall(output)
    return found[-1] == "1" if found else None


def parse_choice(output: str, letters: str) -> str | None:
    """The first standalone capital letter of ``letters`` in the output; ``Z`` or no letter → None."""
    for match in re.finditer(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])", output):
        letter = match.group(1)
        if letter == NONE_OF_THEM:
            return None
        if letter in letters:
            return letter
    return None


def completion_text(payload: Any) -> str | None:
    """``choices[0].message.content`` of an OpenAI chat completion, or None when the JSON has no such field."""
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def quick_answer(response: str, options: Sequence[str]) -> str | None:
    """MathVista's direct acceptance: the whole response already is one of the choices, or (free-form) a number."""
    text = response.strip()
    if text in options or (not options and _NUMBER.fullmatch(text)):
        return text
    return None


def exactly_equal(extracted: str, gold: str) -> bool:
    """MathVerse's short-circuit: equal after dropping whitespace, ``$`` and a final period (case kept)."""

    def bare(text: str) -> str:
        return "".join(text.replace("$", "").split()).rstrip(".")

    return bare(extracted) == bare(gold) != ""


def allowed_letters(meta: dict[str, Any]) -> str:
    """The option letters of an MC item from its verifier options (``options`` list, else ``n_options``, else A–D)."""
    options = dict(meta.get("verify_options", {}))
    count = len(options.get("options") or ()) or int(options.get("n_options") or 4)
    return LETTERS[:count]
