"""VLMEvalKit's rule-based option matching (``vlmeval/utils/matching_util.py``: ``can_infer_option``,
``can_infer_text``, ``can_infer``; snapshot e8e78f05), re-implemented from its behaviour, quirks included. It is the
whole of VLMEvalKit's MMBench/MMStar scoring when no LLM judge is configured (``exact_matching``): a prediction the
rules cannot map to an option is ``Z`` (wrong).

``infer_option(prediction, letters)``:

1. a prediction containing "Failed to obtain answer via API" is unparsed; one containing a refusal phrase
   (:data:`REFUSALS`) is ``Z``;
2. the characters ``. ( ) [ ] , : ; ! * # { }`` become spaces and the prediction is split on whitespace;
3. if exactly one option letter occurs as a token, it is the answer when its first occurrence is among the last four
   tokens; if no option letter occurs but a ``Z`` token does, the answer is ``Z``;
4. otherwise the first "answer is X" / "correct answer is **X**" (any case, X one of A–D) that names an option.

``infer_text(prediction, options)``: when the prediction is at most twice as long as all option texts together, the
option whose (lower-cased) text is contained in the (lower-cased) prediction, if exactly one is.

``can_infer``: ``infer_option``, else ``infer_text``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from npo_bench.verify.verdict import Verdict
from npo_bench_benchmarks.common.answers import read_letters
from npo_bench_benchmarks.common.choice import choice_response, final_answer_verdict, single, statement_verdict
from npo_bench_benchmarks.common.scoring import judged, no_answer, official, ours

REFUSALS = (
    "Sorry, I can't help with images of people yet.",
    "I can't process this file.",
    "I'm sorry, but without the image provided",
    "Cannot determine the answer",
)
API_FAILURE = "Failed to obtain answer via API"
NONE_OF_THEM = "Z"

_SPACED = str.maketrans({c: " " for c in ".()[],:;!*#{}"})
_VERBOSE = re.compile(r"(?:correct\s+)?answer\s+is\s+\**([ABCD])\**", re.IGNORECASE)
_LAST_TOKENS = 4  # the letter's first occurrence must be one of the last four tokens


def infer_option(prediction: str, letters: str) -> str | None:
    """The option letter (or ``Z``) VLMEvalKit's ``can_infer_option`` reads; ``None`` when it reads none."""
    if API_FAILURE in prediction:
        return None
    if any(phrase in prediction for phrase in REFUSALS):
        return NONE_OF_THEM
    tokens = prediction.translate(_SPACED).split()
    present = [letter for letter in letters if letter in tokens]
    if len(present) == 1:
        if tokens.index(present[0]) >= len(tokens) - _LAST_TOKENS:
            return present[0]
    elif not present and NONE_OF_THEM in tokens:
        return NONE_OF_THEM
    verbose = _VERBOSE.search(prediction)
    if verbose and verbose.group(1).upper() in letters:
        return verbose.group(1).upper()
    return None


def infer_text(prediction: str, options: Mapping[str, str]) -> str | None:
    """The letter of the one option whose text the (short) prediction contains, as ``can_infer_text`` reads it."""
    lower = prediction.lower()
    if len(lower) > 2 * sum(len(str(text)) for text in options.values()):
        return None
    found = [letter for letter, text in options.items() if str(text).lower() in lower]
    return found[0] if len(found) == 1 else None


# ---- the verifier: VLMEvalKit's rules plus npo-bench's documented deviations -----------------------------------------
def score_choice(response: object, gold: Any, **options: Any) -> Verdict:
    """MMBench/MMStar's rule path (VLMEvalKit ``exact_matching``), registered as the ``vlmevalkit_choice`` verifier.

    Options: ``options`` (the option texts, A first) or ``n_options``. Deviations (``ours:…`` rules): an explicit
    final answer (``<answer>…</answer>``, ``\\boxed{…}``) is matched on its own (the official rule reads the whole
    prediction, where ``<answer>C</answer>`` is one token and reasoning letters compete); a final answer naming two
    letters is wrong; when the official rules read nothing, an "Answer: X" / "the answer is X" statement is read by
    npo-bench's letter reader (VLMEvalKit would ask its GPT judge; without one the item is wrong).
    """
    item = choice_response(VERIFIER, ACCEPTS, response, gold, options)
    named = dict(zip(item.letters, item.texts, strict=False))
    letter, how = _infer(item.text, item.letters, named)
    same = not item.reasoning_dropped or _infer(item.raw, item.letters, named)[0] == letter
    as_official = official(f"can_infer_{how}") if same else ours("reasoning_dropped")

    def read(answer: str) -> str | None:
        return _infer(answer, item.letters, named)[0] or single(read_letters(answer, item.letters, item.texts))

    final = final_answer_verdict(item, letter, as_official, read)
    if final is not None:
        return final
    if letter == NONE_OF_THEM:
        return judged(False, NONE_OF_THEM, official("refusal") if same else ours("reasoning_dropped"))
    return statement_verdict(item, letter, as_official, no_answer())


VERIFIER = "vlmevalkit_choice"
ACCEPTS = frozenset({"options", "n_options"})


def _infer(prediction: str, letters: str, named: Mapping[str, str]) -> tuple[str | None, str]:
    letter = infer_option(prediction, letters)
    if letter:
        return letter, "option"
    letter = infer_text(prediction, named) if named else None
    return (letter, "text") if letter else (None, "none")
