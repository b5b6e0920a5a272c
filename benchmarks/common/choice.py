"""The ladder every official-rule choice verifier climbs (MMMU-Pro, WeMath, MMBench/MMStar through VLMEvalKit).

Each benchmark's own rule reads a letter from the response (``official:<step>``); npo-bench's documented deviations
(``ours:…``, docs/benchmarks.md) then apply in the same order for all of them:

1. an explicit final answer (``<answer>…</answer>``, ``\\boxed{…}``) is read on its own: naming two letters
   ("B or J") is wrong (``ours:hedged``); a letter read from it decides, under the official step's name when the
   official rule read the same letter, else under the container's (``ours:answer_tag``, ``ours:boxed``);
2. an "Answer: X" / "the answer is X" statement: hedged is wrong; a letter that differs from the official rule's
   decides (``ours:answer_statement``…) — the official rule mis-reads such responses ("J. A dramatic increase" is
   read as the article "A");
3. the official rule's letter;
4. otherwise the benchmark's own no-answer verdict.

How each benchmark reads a letter from the final answer differs (its own parser first, or npo-bench's letter reader
first), so that is passed in; so is the verdict when nothing is read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from npo_bench.verify.safety import MAX_RESPONSE_CHARS
from npo_bench.verify.verdict import Verdict
from npo_bench_benchmarks.common.answers import both, container, hedged, read_letters, statement
from npo_bench_benchmarks.common.scoring import check_options, choice_gold, judged, letters_for, option_texts, ours


@dataclass(frozen=True)
class ChoiceResponse:
    """A response to one multiple-choice item, with the item's options checked."""

    letters: str  # the option letters, "ABCD…"
    texts: tuple[str, ...]  # the option texts, A first (may be empty)
    expected: str  # the gold letter
    raw: str  # the response as given (length-capped)
    text: str  # the response with reasoning before </think> dropped

    @property
    def reasoning_dropped(self) -> bool:
        return self.raw != self.text


def choice_response(
    verifier: str, accepts: Collection[str], response: object, gold: Any, options: dict[str, Any]
) -> ChoiceResponse:
    """Check ``options`` (names, option texts, letter count) and ``gold``; a :class:`UserError` naming the verifier."""
    check_options(verifier, options, accepts)
    texts = option_texts(verifier, options)
    letters = letters_for(verifier, options, texts)
    expected = choice_gold(verifier, gold, letters, options)
    raw, text = both(response, options.get("max_chars", MAX_RESPONSE_CHARS))
    return ChoiceResponse(letters, texts, expected, raw, text)


def single(found: frozenset[str]) -> str | None:
    """The one letter of ``found``; ``None`` when it holds none or several."""
    return next(iter(found)) if len(found) == 1 else None


def final_answer_verdict(
    item: ChoiceResponse, letter: str | None, as_official: str, read: Callable[[str], str | None]
) -> Verdict | None:
    """Step 1: the verdict of an explicit final answer, or ``None`` when there is none or it names no letter."""
    final = container(item.text)
    if final is None:
        return None
    if hedged(final.text, item.letters):
        return judged(False, final.text, ours("hedged"))
    found = read(final.text)
    if found is None:
        return None
    return judged(found == item.expected, found, as_official if found == letter else ours(final.rule))


def statement_verdict(item: ChoiceResponse, letter: str | None, as_official: str, otherwise: Verdict) -> Verdict:
    """Steps 2–4: a final-answer statement that names another letter, else the official letter, else ``otherwise``."""
    said = statement(item.text)
    if said is not None and hedged(said.text, item.letters):
        return judged(False, said.text, ours("hedged"))
    found = single(read_letters(said.text, item.letters, item.texts)) if said is not None else None
    if said is not None and found is not None and found != letter:
        return judged(found == item.expected, found, ours(said.rule))
    if letter is not None:
        return judged(letter == item.expected, letter, as_official)
    return otherwise
