"""Group-relative advantages.

GRPO (``mean_std``): Â_i = (r_i − mean(r)) / (std(r) + ε), std unbiased as ``torch.std`` (EasyR1
``compute_grpo_outcome_advantage``; the NPO paper's formula). ``mean``: Â_i = r_i − mean(r), without std
normalisation (Dr.GRPO; LUFFY ``grpo_use_std=False``). Groups may differ in size (RLEP appends to a group), so the
estimators take one 1-D reward tensor per group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def mean_std_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(n,) rewards → (n,) advantages (r − mean) / (std + ε); a group of one gets 0."""
    if rewards.numel() < 2:
        return torch.zeros_like(rewards)
    return (rewards - rewards.mean()) / (rewards.std() + eps)


def mean_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(n,) rewards → (n,) advantages r − mean (``eps`` unused; same signature as the others)."""
    return rewards - rewards.mean()


ADVANTAGE_ESTIMATORS: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "mean_std": mean_std_advantages,
    "mean": mean_advantages,
}


def group_advantages(rewards: Sequence[torch.Tensor], estimator: str, eps: float) -> list[torch.Tensor]:
    """Advantages of each group with the named estimator."""
    fn = ADVANTAGE_ESTIMATORS[estimator]
    return [fn(r.float(), eps) for r in rewards]
