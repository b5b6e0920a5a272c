"""WeMath's official answer rule (``We-Math/We-Math`` ``evaluation/four_dimensional_metrics.py`` and
``accuracy.py``: ``load_and_process_data``; VLMEvalKit's ``utils/wemath.py`` applies the same rule without a judge),
re-implemented from its behaviour and registered as the ``wemath_choice`` verifier.

Official: the text after the last ``Answer`` (case-sensitive; the whole response when there is none) is stripped,
every ``<``, ``>``, ``:`` and ``.`` is removed, it is stripped again, and its **first character** is the answer when it
is one of A–H. Correct when that letter equals the gold. The official prompt asks for
``<Thought process>: … <Answer>: …``, so ``<Answer>: B`` reads B.

Deviations (``ours:…``, docs/benchmarks.md): an explicit final answer (``<answer>…</answer>``, ``\\boxed{…}``) is
read on its own (officially ``<answer>B</answer>`` leaves ``answerB/answer``, whose first character is no letter);
a first character that starts a word ("Because…", "A triangle…") is not an option letter; where the official rule
reads nothing, an "answer is X" statement is read by npo-bench's letter reader; a final answer naming two letters is
wrong; reasoning before ``</think>`` is dropped.
"""

from __future__ import annotations

import re
from typing import Any

from npo_bench.verify.safety import MAX_RESPONSE_CHARS
from npo_bench.verify.verdict import Verdict
from npo_bench_benchmarks.common.answers import both, container, hedged, read_letters, statement
from npo_bench_benchmarks.common.scoring import (
    check_options,
    choice_gold,
    judged,
    letters_for,
    no_answer,
    official,
    option_texts,
    ours,
)

VERIFIER = "wemath_choice"
ACCEPTS = frozenset({"options", "n_options"})
OFFICIAL_LETTERS = "ABCDEFGH"
_REMOVED = re.compile(r"[<>:.]")


def parse(response: str) -> str | None:
    """The official reading: the first character after the last ``Answer`` (cleaned), when it is A–H."""
    tail = _REMOVED.sub("", response.split("Answer")[-1].strip()).strip()
    return tail[0] if tail and tail[0] in OFFICIAL_LETTERS else None


def starts_a_word(response: str) -> bool:
    """Whether the official rule's letter is the first letter of a word ("Because", "A triangle" is not)."""
    tail = _REMOVED.sub("", response.split("Answer")[-1].strip()).strip()
    return len(tail) > 1 and tail[1].isalpha()


def score(response: object, gold: Any, **options: Any) -> Verdict:
    """The official reading and verdict, with the deviations of the module docstring."""
    check_options(VERIFIER, options, ACCEPTS)
    texts = option_texts(VERIFIER, options)
    letters = letters_for(VERIFIER, options, texts)
    expected = choice_gold(VERIFIER, gold, letters, options)
    raw, text = both(response, options.get("max_chars", MAX_RESPONSE_CHARS))
    letter = parse(text)
    word_start = letter is not None and starts_a_word(text)
    if word_start:
        letter = None
    as_official = official("answer_letter") if raw == text or parse(raw) == letter else ours("reasoning_dropped")
    final = container(text)
    if final is not None:
        if hedged(final.text, letters):
            return judged(False, final.text, ours("hedged"))
        read = _single(read_letters(final.text, letters, texts))
        if read is not None:
            return judged(read == expected, read, as_official if read == letter else ours(final.rule))
    said = statement(text)
    if said is not None and hedged(said.text, letters):
        return judged(False, said.text, ours("hedged"))
    read = _single(read_letters(said.text, letters, texts)) if said is not None else None
    if read is not None and read != letter:  # the final-answer statement names another option than the rule read
        return judged(read == expected, read, ours(said.rule))
    if letter is not None:
        return judged(letter == expected, letter, as_official)
    return no_answer(ours("word_start") if word_start else None)


def _single(found: frozenset[str]) -> str | None:
    return next(iter(found)) if len(found) == 1 else None
