"""ExGRPO's experience pool, as pure logic (Zhan et al., arXiv 2510.02245; npo-paper.md §6.2).

- **Collection** (``collect_experience_entries``): a question whose on-policy group has k of n correct with
  0 < k < n stores every correct trajectory with the log-probs it was sampled with (the behaviour policy);
  duplicate texts are skipped.
- **Retirement**: a question solved n/n leaves the pool and is skipped by the data stream from then on.
- **Buckets** (``WeightedBucketSampler``): questions are bucketed by their *latest* correctness count k; bucket b is
  drawn with weight N(k_b; μ = n/2, σ = 1) (the ``normal`` weighting, medium difficulty favoured); per-bucket counts
  are multinomial, and questions are drawn without replacement inside a bucket.
- **Trajectory choice** (``exp_metric=ent``, ``argmin``): of a question's stored trajectories, the one with the lowest
  mean token entropy under the *current* policy — computed by the source, which has the model.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from npo_bench.types import Group, Prompt, Trajectory


def bucket_weight(k: int, mu: float, sigma: float) -> float:
    """ExGRPO's ``normal`` bucket weight: the (unnormalised) Gaussian density of k around μ."""
    return math.exp(-((k - mu) ** 2) / (2 * sigma**2))


def bucket_probabilities(sizes: Mapping[int, int], mu: float, sigma: float) -> dict[int, float]:
    """Probability of drawing from each non-empty bucket (keyed by k)."""
    weights = {k: bucket_weight(k, mu, sigma) for k, size in sizes.items() if size > 0}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()} if total > 0 else {}


def sample_buckets(
    buckets: Mapping[int, Sequence[str]], count: int, mu: float, sigma: float, rng: random.Random
) -> list[str]:
    """``count`` distinct question ids: multinomial counts over buckets, without replacement inside each.

    A bucket asked for more questions than it holds gives all of them; the shortfall is drawn again over the
    buckets that still have questions (so the result has ``min(count, pool size)`` ids).
    """
    remaining = {k: list(ids) for k, ids in buckets.items() if ids}
    chosen: list[str] = []
    while len(chosen) < count and remaining:
        probs = bucket_probabilities({k: len(ids) for k, ids in remaining.items()}, mu, sigma)
        keys = sorted(probs)
        draws = rng.choices(keys, weights=[probs[k] for k in keys], k=count - len(chosen))
        for k in keys:
            wanted = draws.count(k)
            if wanted == 0:
                continue
            ids = remaining[k]
            picked = rng.sample(ids, min(wanted, len(ids)))
            chosen += picked
            taken = set(picked)
            remaining[k] = [i for i in ids if i not in taken]
        remaining = {k: ids for k, ids in remaining.items() if ids}
    return chosen


@dataclass
class ExperiencePool:
    """Past successful trajectories per question, the latest correctness count, and the retired questions."""

    group_size: int
    prompts: dict[str, Prompt] = field(default_factory=dict)
    trajectories: dict[str, list[Trajectory]] = field(default_factory=dict)
    latest_k: dict[str, int] = field(default_factory=dict)
    retired: set[str] = field(default_factory=set)

    def record(self, group: Group) -> None:
        """Update the pool from one on-policy group (all n rollouts of a question in one step)."""
        prompt_id = group.prompt.id
        k = sum(bool(t.correct) for t in group.trajectories)
        n = len(group.trajectories)
        if k == n:
            self.retire(prompt_id)
            return
        if prompt_id in self.trajectories:
            self.latest_k[prompt_id] = k
        if k == 0:
            return
        stored = self.trajectories.setdefault(prompt_id, [])
        self.prompts[prompt_id] = group.prompt
        self.latest_k[prompt_id] = k
        texts = {t.text for t in stored}
        for trajectory in group.trajectories:
            if trajectory.correct and trajectory.logprobs is not None and trajectory.text not in texts:
                stored.append(trajectory)
                texts.add(trajectory.text)
        if not stored:  # correct answers without recorded log-probs cannot be replayed with ExGRPO's ratio
            self.forget(prompt_id)

    def retire(self, prompt_id: str) -> None:
        self.retired.add(prompt_id)
        self.forget(prompt_id)

    def forget(self, prompt_id: str) -> None:
        self.trajectories.pop(prompt_id, None)
        self.latest_k.pop(prompt_id, None)
        self.prompts.pop(prompt_id, None)

    def buckets(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for prompt_id in sorted(self.trajectories):
            out.setdefault(self.latest_k[prompt_id], []).append(prompt_id)
        return out

    def sample(self, count: int, sigma: float, rng: random.Random, mu: float | None = None) -> list[str]:
        centre = self.group_size / 2 if mu is None else mu
        return sample_buckets(self.buckets(), count, centre, sigma, rng)

    def __len__(self) -> int:
        return len(self.trajectories)
