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

from npo_bench.verify.verdict import Verdict
from npo_bench_benchmarks.common.answers import read_letters
from npo_bench_benchmarks.common.choice import choice_response, final_answer_verdict, single, statement_verdict
from npo_bench_benchmarks.common.scoring import no_answer, official, ours

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
    """The official reading and verdict, with the deviations of the module docstring (common/choice.py's ladder)."""
    item = choice_response(VERIFIER, ACCEPTS, response, gold, options)
    letter = parse(item.text)
    word_start = letter is not None and starts_a_word(item.text)
    if word_start:
        letter = None
    same = not item.reasoning_dropped or parse(item.raw) == letter
    as_official = official("answer_letter") if same else ours("reasoning_dropped")
    final = final_answer_verdict(
        item, letter, as_official, lambda answer: single(read_letters(answer, item.letters, item.texts))
    )
    if final is not None:
        return final
    return statement_verdict(item, letter, as_official, no_answer(ours("word_start") if word_start else None))
