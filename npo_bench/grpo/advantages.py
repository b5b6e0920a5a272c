"""Group-relative advantages.

GRPO (``mean_std``): Â_i = (r_i − mean(r)) / (std(r) + ε), std unbiased as ``torch.std`` (EasyR1
``compute_grpo_outcome_advantage``; the NPO paper's formula). ``mean``: Â_i = r_i − mean(r), without std
normalisation (Dr.GRPO; LUFFY ``grpo_use_std=False``). Groups may differ in size (RLEP appends to a group), so the
estimators take one 1-D reward tensor per group.

A group whose rewards are all equal gets exactly 0 from both estimators. Computed literally, ``r − mean(r)`` of equal
non-dyadic rewards (0.7 = 0.9 · 1 + 0.1 · format) is a float rounding residue of ≈ 1e-8, which the std normalisation
blows up to |Â| ≈ 0.06; such rows would then train on noise and never be skipped as zero-advantage rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def _is_uniform(rewards: torch.Tensor) -> bool:
    """True for a group of one or of equal rewards: no preference between its samples, so Â = 0 exactly."""
    return rewards.numel() < 2 or bool((rewards == rewards[0]).all())


def mean_std_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(n,) rewards → (n,) advantages (r − mean) / (std + ε); a group of one or of equal rewards gets 0."""
    if _is_uniform(rewards):
        return torch.zeros_like(rewards)
    return (rewards - rewards.mean()) / (rewards.std() + eps)


def mean_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(n,) rewards → (n,) advantages r − mean; equal rewards get 0 (``eps`` unused; same signature as the others)."""
    if _is_uniform(rewards):
        return torch.zeros_like(rewards)
    return rewards - rewards.mean()


ADVANTAGE_ESTIMATORS: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "mean_std": mean_std_advantages,
    "mean": mean_advantages,
}


def group_advantages(rewards: Sequence[torch.Tensor], estimator: str, eps: float) -> list[torch.Tensor]:
    """Advantages of each group with the named estimator."""
    fn = ADVANTAGE_ESTIMATORS[estimator]
    return [fn(r.float(), eps) for r in rewards]
