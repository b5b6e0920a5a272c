"""WeMath's four-dimensional metric, as pure functions (benchmarks.md §2.5; lmms-eval ``wemath_utils.py``).

Each composite problem (``key`` ``2steps_*`` or ``3steps_*``, joined on ``ID``) has 2 or 3 one-step
sub-questions and the composite question (``*_multi``). With "subs" its sub-question verdicts and "comp" the
composite's:

- IK (insufficient knowledge): some sub wrong and comp wrong;
- IG (inadequate generalisation): all subs right and comp wrong;
- CM (complete mastery): strict — all subs right and comp right; loose — any sub right and comp right;
- RM (rote memorisation): strict — any sub wrong and comp right; loose — all subs wrong and comp right.

``score = (N − 0.5·IG − RM − IK) / N`` over the N complete problems (525 in testmini), reported strict and loose.
A problem with a missing member cannot be classified (the join fails) and is counted in ``problems_incomplete``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    subs: tuple[bool, ...]
    composite: bool


def problems(verdicts: Iterable[tuple[str, str, bool]]) -> tuple[list[Problem], int]:
    """(complete problems, number of incomplete ones) from ``(problem key, question key, correct)`` triples.

    ``problem key`` identifies one composite problem (ID, step count and sample); ``question key`` is the row's
    ``key`` (``2steps_1``, ``2steps_multi``, …).
    """
    members: dict[str, dict[str, bool]] = {}
    for problem, key, correct in verdicts:
        members.setdefault(problem, {})[key] = correct
    complete, incomplete = [], 0
    for found in members.values():
        steps = next(iter(found)).split("steps")[0]
        wanted = [f"{steps}steps_{i}" for i in range(1, int(steps) + 1)]
        if f"{steps}steps_multi" not in found or any(k not in found for k in wanted):
            incomplete += 1
            continue
        complete.append(Problem(tuple(found[k] for k in wanted), found[f"{steps}steps_multi"]))
    return complete, incomplete


def four_dimensional(items: list[Problem]) -> Mapping[str, float]:
    """IK, IG, CM and RM (strict and loose) as fractions of the problems, and the strict and loose scores."""
    n = len(items)
    if n == 0:
        return {}
    ik = ig = cm_strict = rm_strict = cm_loose = rm_loose = 0
    for p in items:
        all_right, any_right = all(p.subs), any(p.subs)
        ik += not all_right and not p.composite
        ig += all_right and not p.composite
        cm_strict += all_right and p.composite
        rm_strict += not all_right and p.composite
        cm_loose += any_right and p.composite
        rm_loose += not any_right and p.composite
    return {
        "IK": ik / n,
        "IG": ig / n,
        "CM_strict": cm_strict / n,
        "RM_strict": rm_strict / n,
        "CM_loose": cm_loose / n,
        "RM_loose": rm_loose / n,
        "score_strict": (n - 0.5 * ig - rm_strict - ik) / n,
        "score_loose": (n - 0.5 * ig - rm_loose - ik) / n,
    }
