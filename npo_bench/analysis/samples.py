"""pass@k and maj@k from an evaluation with several samples per item: does training sharpen or learn?

RLVR papers ask whether RL teaches a model new answers or only concentrates it on answers it could already sample
(pass@k at large k falling while pass@1 rises is the usual sign of sharpening). Two numbers per item separate the
cases: pass@k, the chance that k samples contain a correct one (the unbiased estimator of Chen et al. 2021,
"Evaluating Large Language Models Trained on Code", eq. 1: 1 − C(n−c, k)/C(n, k) for c correct of n), and maj@n,
whether the most frequent extracted answer of the n samples is correct. A model whose maj@n is near its pass@1 has no
consistent answer to sharpen toward: its correct samples are guesses.

Pure functions over the items of an ``eval/<benchmark>.json`` (``npo-bench eval --set eval.samples=16``); the CLI
(``npo-bench analyze samples``) reads and prints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import comb
from typing import Any


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one item with ``c`` correct of ``n`` samples (Chen et al. 2021, eq. 1); needs k ≤ n."""
    if not 0 < k <= n or not 0 <= c <= n:
        raise ValueError(f"pass@{k} of {c} correct in {n} samples: need 0 < k ≤ n and 0 ≤ c ≤ n")
    return 1.0 - comb(n - c, k) / comb(n, k)


def majority_correct(extracted: Sequence[str | None], correct: Sequence[bool]) -> bool:
    """Whether the most frequent extracted answer is a correct one; ties go to the answer sampled first, and samples
    without an extracted answer do not vote (all unextracted → False)."""
    votes = Counter(answer for answer in extracted if answer is not None)
    if not votes:
        return False
    most = max(votes.values())
    winner = next(answer for answer in extracted if answer is not None and votes[answer] == most)
    return any(ok for answer, ok in zip(extracted, correct, strict=True) if answer == winner)


@dataclass(frozen=True)
class SampleStats:
    group: str  # "all", "family/<name>", "level/<n>"
    items: int
    samples: int  # samples per item (the smallest, when items differ)
    pass_at: dict[int, float]  # k → mean pass@k over items
    maj: float  # mean maj@n
    never: float  # fraction of items with no correct sample (at 0/n)


def group_items(items: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Item id → its samples, in file order."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_id.setdefault(str(item["id"]), []).append(item)
    return by_id


def sample_stats(
    items: Iterable[dict[str, Any]], ks: Sequence[int], by: Sequence[str] = ("family", "level")
) -> list[SampleStats]:
    """Per group — all items, and each value of each field in ``by`` that the items carry (the synthetic task's
    ``family`` and ``level``; a paper benchmark's record fields, e.g. MMStar's ``category``) — pass@k for each k ≤ the
    samples per item, maj@n and the fraction at 0/n."""
    per_item = []
    for samples, n, c in _counted(items):
        first = samples[0]
        groups = ["all"] + [f"{key}/{first[key]}" for key in by if first.get(key) is not None]
        maj = majority_correct([s.get("extracted") for s in samples], [bool(s["correct"]) for s in samples])
        per_item.append((groups, n, c, maj))
    if not per_item:
        return []
    smallest = min(n for _, n, _, _ in per_item)
    usable = sorted({k for k in ks if 0 < k <= smallest} | {1})
    stats = []
    for group in _ordered_groups(per_item):
        rows = [(n, c, maj) for groups, n, c, maj in per_item if group in groups]
        stats.append(
            SampleStats(
                group=group,
                items=len(rows),
                samples=min(n for n, _, _ in rows),
                pass_at={k: sum(pass_at_k(n, c, k) for n, c, _ in rows) / len(rows) for k in usable},
                maj=sum(maj for _, _, maj in rows) / len(rows),
                never=sum(c == 0 for _, c, _ in rows) / len(rows),
            )
        )
    return stats


def pass_curve(items: Iterable[dict[str, Any]]) -> dict[int, float]:
    """k → mean pass@k over all items, for k = 1 … the fewest samples any item has (the curve `--plot` draws)."""
    counts = [(n, c) for _, n, c in _counted(items)]
    if not counts:
        return {}
    smallest = min(n for n, _ in counts)
    return {k: sum(pass_at_k(n, c, k) for n, c in counts) / len(counts) for k in range(1, smallest + 1)}


def _counted(items: Iterable[dict[str, Any]]) -> list[tuple[list[dict[str, Any]], int, int]]:
    """(samples, n, c) per item: its samples in file order, how many, how many correct."""
    return [
        (samples, len(samples), sum(bool(s["correct"]) for s in samples)) for samples in group_items(items).values()
    ]


def curve_label(folder: str) -> str:
    """The legend label of an evaluation in folder ``folder``: a comparison's run name ``METHOD-seedN-<hash>`` → the
    method, so that seeds of one method share a curve; any other name as it is."""
    head, sep, tail = folder.partition("-seed")
    return head if sep and tail[:1].isdigit() else folder


def _ordered_groups(per_item: list[tuple[list[str], int, int, bool]]) -> list[str]:
    seen: dict[str, None] = {}
    for groups, *_ in per_item:
        seen.update(dict.fromkeys(groups))
    return ["all"] + sorted(g for g in seen if g != "all")


def format_stats(stats: Sequence[SampleStats], label: str) -> str:
    """A text table: one row per group."""
    if not stats:
        return f"{label}: no items"
    ks = sorted(stats[0].pass_at)
    n = stats[0].samples
    head = (
        f"{'group':<16} {'items':>5} "
        + " ".join(f"{f'pass@{k}':>8}" for k in ks)
        + f" {f'maj@{n}':>7} {f'at 0/{n}':>7}"
    )
    lines = [label, head]
    for s in stats:
        cells = " ".join(f"{s.pass_at[k]:>8.3f}" for k in ks)
        lines.append(f"{s.group:<16} {s.items:>5} {cells} {s.maj:>7.3f} {s.never:>7.3f}")
    return "\n".join(lines)
