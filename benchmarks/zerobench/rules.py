"""ZeroBench's answer rule, as its README states it (``jonathan-roberts1/zerobench`` README, "Evaluation"; the
repository holds only that README), re-implemented and registered as the ``zerobench_exact`` verifier.

Official: the response is stripped and lower-cased; the answer is the **last** ``{…}`` (non-greedy, within one line);
correct iff it equals the stripped, lower-cased gold exactly (the README compares ``parsed[:len(gold)]`` and the
lengths: an exact match). There is no containment: ``{112}`` is not 12 and ``{not 12}`` is not 12.

Deviations (``ours:…``, docs/benchmarks.md): the braced answer is trimmed before the comparison (``{ 7 }`` is 7; the
README compares it untrimmed); a ``\\boxed{…}`` whose content has braces is read whole (``\\boxed{\\frac{1}{2}}``
is ``\\frac{1}{2}``, where the README's last ``{…}`` is ``2``); a response without any ``{…}`` is read from its
``<answer>…</answer>`` or "answer is X" statement; reasoning before ``</think>`` is dropped.

VLMEvalKit's ``ZEROBench.evaluate`` instead accepts any braced answer that *contains* the gold; that leniency is kept
as the ``zerobench_braces`` verifier (:func:`contains`) for comparison with VLMEvalKit numbers, not as the default:
as an RL reward it pays for ``{1, 2, 3, …, 100}``.
"""

from __future__ import annotations

import re
from typing import Any

from npo_bench.verify.base import gold_error, is_blank
from npo_bench.verify.extract import boxed
from npo_bench.verify.safety import MAX_RESPONSE_CHARS, sanitize
from npo_bench.verify.verdict import Verdict
from npo_bench_benchmarks.common.answers import both, statement
from npo_bench_benchmarks.common.scoring import check_options, judged, no_answer, official, ours

VERIFIER = "zerobench_exact"
_BRACES = re.compile(r"\{(.*?)\}")


def last_braces(text: str) -> str | None:
    """The README's answer: the last non-greedy ``{…}`` of the stripped, lower-cased response (``None``: none)."""
    found = _BRACES.findall(text.strip().lower())
    return found[-1] if found else None


def _gold(verifier: str, gold: Any, options: dict[str, Any]) -> str:
    if is_blank(gold):
        raise gold_error(verifier, gold, options, "it is empty")
    return str(gold).strip().lower()


def score(response: object, gold: Any, **options: Any) -> Verdict:
    """The README rule (exact match of the last ``{…}``) with the deviations of the module docstring."""
    check_options(VERIFIER, options, ())
    expected = _gold(VERIFIER, gold, options)
    raw, text = both(response, options.get("max_chars", MAX_RESPONSE_CHARS))
    braced = last_braces(text)
    if braced is not None:
        whole_box = boxed(text)
        if whole_box is not None and "{" in whole_box and braced in whole_box.lower():
            answer, deviation = whole_box.strip().lower(), "boxed"  # \boxed{\frac{1}{2}}: the README reads "2"
        else:
            answer, deviation = braced.strip(), "trimmed"
        if answer == braced and (raw == text or last_braces(raw) == braced):
            rule = official("last_braces")
        else:
            rule = ours(deviation if answer != braced else "reasoning_dropped")
        return judged(answer == expected, answer, rule)
    said = statement(text)
    if said is not None:
        answer = said.text.strip().lower()
        return judged(answer == expected, answer, ours(said.rule))
    return no_answer()


def contains(response: object, gold: Any, **options: Any) -> Verdict:
    """VLMEvalKit's ``ZEROBench.evaluate``: correct iff the lower-cased gold is a substring of the last ``{…}``."""
    check_options("zerobench_braces", options, ())
    expected = _gold("zerobench_braces", gold, options)
    braced = last_braces(sanitize(response, options.get("max_chars", MAX_RESPONSE_CHARS)))
    if braced is None:
        return no_answer()
    return judged(expected in braced, braced, "last_braces_contains")
