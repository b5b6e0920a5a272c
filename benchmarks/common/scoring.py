"""What the benchmarks' official-rule verifiers share: option checking, gold checking and the ``rule`` names.

Every verdict of an official-rule verifier names the step that decided it in ``Verdict.rule``:
``official:<step>`` when the benchmark's own rule path decided (``official:answer_colon``,
``official:can_infer_text``…), ``ours:<deviation>`` when a documented deviation did (``ours:answer_tag``,
``ours:hedged``…). docs/benchmarks.md lists both per benchmark.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from npo_bench.errors import UserError, did_you_mean
from npo_bench.verify.base import COMMON_OPTIONS, gold_error, is_blank
from npo_bench.verify.verdict import NO_ANSWER, Verdict

LETTERS = "ABCDEFGHIJKLMNOP"  # option letters of the official-rule verifiers (MMMU-Pro has a 12-option item)


def official(step: str) -> str:
    return f"official:{step}"


def ours(deviation: str) -> str:
    return f"ours:{deviation}"


def check_options(verifier: str, options: dict[str, Any], accepted: Collection[str]) -> None:
    """A :class:`UserError` with a did-you-mean hint for an option ``verifier`` does not take."""
    allowed = set(COMMON_OPTIONS) | set(accepted)
    for name in options:
        if name not in allowed:
            raise UserError(f"unknown option {name!r} for the {verifier!r} verifier", hint=did_you_mean(name, allowed))


def option_texts(verifier: str, options: dict[str, Any]) -> tuple[str, ...]:
    texts = options.get("options") or ()
    if isinstance(texts, str) or not isinstance(texts, Sequence) or len(texts) > len(LETTERS):
        raise UserError(f"option 'options' of the {verifier!r} verifier must be a list of at most 16 option texts")
    return tuple(str(text) for text in texts)


def letters_for(verifier: str, options: dict[str, Any], texts: Sequence[str]) -> str:
    n = options.get("n_options") or len(texts) or 4
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(LETTERS):
        raise UserError(f"option n_options of the {verifier!r} verifier must be an integer from 1 to 16, not {n!r}")
    return LETTERS[:n]


def choice_gold(verifier: str, gold: Any, letters: str, options: dict[str, Any]) -> str:
    """The gold option letter (``"B"``, ``"(b)"``…); a :class:`UserError` naming the item otherwise."""
    text = "" if is_blank(gold) else str(gold).strip().strip("().").strip().upper()
    if len(text) != 1 or text not in letters:
        raise gold_error(verifier, gold, options, f"it is not an option letter {letters[0]}–{letters[-1]}")
    return text


def judged(correct: bool, extracted: str | None, rule: str) -> Verdict:
    return Verdict.judged(correct, extracted, rule)


def no_answer(rule: str | None = None, extracted: str | None = None) -> Verdict:
    return Verdict.failed(NO_ANSWER, extracted, rule)
