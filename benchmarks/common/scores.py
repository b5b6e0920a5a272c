"""Aggregation helpers shared by the benchmarks' ``aggregate``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from npo_bench.types import Prompt

if TYPE_CHECKING:
    from npo_bench.verify import Verdict


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def accuracy_by(prompts: Sequence[Prompt], verdicts: Sequence[Verdict], keys: Iterable[str]) -> dict[str, float]:
    """``{"accuracy": …, "<key>/<value>": …}``: micro accuracy overall and per value of each meta ``key``."""
    keys = tuple(keys)
    buckets: dict[str, list[bool]] = defaultdict(list)
    for prompt, verdict in zip(prompts, verdicts, strict=True):
        buckets["accuracy"].append(verdict.correct)
        for key in keys:
            value = prompt.meta.get(key)
            if value is not None and value != "":
                buckets[f"{key}/{value}"].append(verdict.correct)
    return {name: mean(values) for name, values in sorted(buckets.items())}


def sample_indices(prompts: Sequence[Prompt]) -> list[int]:
    """The sample number of each entry: evaluation repeats an item's prompt once per sample (avg@k)."""
    seen: dict[str, int] = defaultdict(int)
    indices = []
    for prompt in prompts:
        indices.append(seen[prompt.id])
        seen[prompt.id] += 1
    return indices
