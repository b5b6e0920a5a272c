"""MMMU-Pro's official answer parser (``MMMU-Benchmark/MMMU`` ``mmmu-pro/evaluate.py``:
``parse_multi_choice_response``, ``eval_multi_choice``), re-implemented from its behaviour, quirks included, and
registered as the ``mmmu_pro_choice`` verifier.

The official parse of a response, given the option letters A… and their texts:

1. ``answer_colon``: the text after the **last** ``Answer:`` (case-sensitive); if exactly one option letter occurs in
   it *as a substring*, that letter (so ``Answer: C`` is C, but ``Answer: C. Because…`` names C and B);
2. otherwise the response, with the characters ``, . ! ? ; : '`` stripped from both ends (one kind after the other)
   and padded with spaces, is searched for ``(X)`` (``bracket``), then ``X`` followed by a space (``letter_space``),
   then ``X.`` (``letter_period``); a response of more than five words is then searched for option texts
   (``option_text``, case-insensitive substring);
3. several candidates: the one whose last occurrence (``(X)``, `` X ``, or the option text) comes last; no
   candidate: a **random** option letter.

Correct when the parsed letter equals the gold. Deviations (``ours:…``, docs/benchmarks.md): an explicit final answer
(``<answer>…</answer>``, ``\\boxed{…}``) is parsed on its own, reasoning before ``</think>`` is dropped, a final answer
naming two letters ("B or J") is wrong, and where the official parser would guess at random npo-bench reads an
"answer is X" statement or else scores no answer (deterministic).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from npo_bench.verify.verdict import Verdict
from npo_bench_benchmarks.common.answers import read_letters
from npo_bench_benchmarks.common.choice import choice_response, final_answer_verdict, single, statement_verdict
from npo_bench_benchmarks.common.scoring import no_answer, official, ours

VERIFIER = "mmmu_pro_choice"
ACCEPTS = frozenset({"options", "n_options"})
_END_CHARS = ",.!?;:'"
_CONTENT_MIN_WORDS = 6  # option texts are searched only in responses of more than five words


def parse(response: str, letters: str, texts: Sequence[str]) -> tuple[str | None, str]:
    """(the letter the official parser reads or ``None`` where it would guess at random, the step that read it)."""
    tail_at = response.rfind("Answer:")
    if tail_at >= 0:
        tail = response[tail_at + len("Answer:") :].strip()
        named = [letter for letter in letters if letter in tail]
        if len(named) == 1:
            return named[0], "answer_colon"
    for char in _END_CHARS:
        response = response.strip(char)
    padded = f" {response} "
    found = [letter for letter in letters if f"({letter})" in padded]
    if found:
        return _last(found, [padded.rfind(f"({letter})") for letter in found]), "bracket"
    for step, form in (("letter_space", "{} "), ("letter_period", "{}.")):
        found = [letter for letter in letters if form.format(letter) in padded]
        if found:
            return _last(found, [padded.rfind(f" {letter} ") for letter in found]), step
    if len(padded.split()) >= _CONTENT_MIN_WORDS:
        lower = padded.lower()
        found = [letter for letter, text in zip(letters, texts, strict=False) if text.lower() in lower]
        if found:
            return _last(found, [lower.rfind(texts[letters.index(letter)].lower()) for letter in found]), "option_text"
    return None, "random_guess"


def _last(candidates: list[str], positions: list[int]) -> str:
    """The candidate with the greatest position (the first of equals, as ``numpy.argmax``)."""
    best = max(range(len(candidates)), key=lambda i: (positions[i], -i))
    return candidates[best]


def score(response: object, gold: Any, **options: Any) -> Verdict:
    """The official parse and verdict, with the deviations of the module docstring (common/choice.py's ladder)."""
    item = choice_response(VERIFIER, ACCEPTS, response, gold, options)
    letter, step = parse(item.text, item.letters, item.texts)
    same = not item.reasoning_dropped or parse(item.raw, item.letters, item.texts)[0] == letter
    as_official = official(step) if same else ours("reasoning_dropped")

    def read(answer: str) -> str | None:
        return single(read_letters(answer, item.letters, item.texts)) or parse(answer, item.letters, item.texts)[0]

    final = final_answer_verdict(item, letter, as_official, read)
    # "J. A dramatic increase": the official parser reads the article "A "; the statement step reads J
    if final is not None:
        return final
    return statement_verdict(item, letter, as_official, no_answer(ours("no_random_guess")))
