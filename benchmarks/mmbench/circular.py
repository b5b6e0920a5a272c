"""MMBench's circular evaluation, as pure functions.

MMBench's official protocol (CircularEval, as in VLMEvalKit's ``MMBench_DEV_EN``: copies of a question whose
index is ``index + k·10^6``) asks each question once per circular shift of its options: a question with n options
is asked n times, the options rotated by k = 0…n−1 and the gold letter moved with its option. The question counts
as correct only if **every** pass is answered correctly. The shifts are generated here from the original rows
(hub/TSV copies with ``index ≥ 10^6`` are the same shifts and are skipped), so ``--limit`` counts questions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

LETTERS = "ABCDEFGHI"
COPY_OFFSET = 1_000_000


def rotations(options: Sequence[str], answer: str) -> list[tuple[list[str], str]]:
    """``[(options rotated left by k, gold letter after the rotation) for k in 0…n−1]``."""
    n = len(options)
    gold = LETTERS.index(answer)
    return [([options[(i + k) % n] for i in range(n)], LETTERS[(gold - k) % n]) for k in range(n)]


def is_circular_copy(index: int) -> bool:
    return index >= COPY_OFFSET


def circular_correct(groups: Sequence[tuple[str, int, bool]]) -> dict[tuple[str, int], bool]:
    """``{(question, sample): all passes correct}`` from ``(question id, sample number, pass correct)`` triples."""
    passes: dict[tuple[str, int], list[bool]] = defaultdict(list)
    for question, sample, correct in groups:
        passes[(question, sample)].append(correct)
    return {key: all(values) for key, values in passes.items()}
