"""Policy losses and their aggregation over tokens.

All functions take per-token tensors of shape (B, R) with a float ``mask`` (1 on response tokens) and per-sequence
advantages (B,). They return a scalar loss to *minimise* plus diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True, eq=False)
class SurrogateTerms:
    token_loss: torch.Tensor  # (B, R) −min(ρÂ, clip(ρ)Â) per token (0 off the mask)
    clipped: torch.Tensor  # (B, R) bool, where the clipped branch was taken
    ratio: torch.Tensor  # (B, R) ρ = π_θ / π_old


def clipped_surrogate(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    eps_low: float,
    eps_high: float,
    dual_clip: float | None = None,
) -> SurrogateTerms:
    """PPO clipped surrogate with asymmetric clip (DAPO clip-higher: ε_low 0.2, ε_high 0.28).

    ρ = exp(log π_θ − log π_old);  L_tok = −min(ρÂ, clip(ρ, 1−ε_low, 1+ε_high)Â).
    ``dual_clip`` = c bounds the loss of negative-advantage tokens at −cÂ (EasyR1 default c = 3).
    """
    adv = advantages.unsqueeze(-1)  # (B, 1)
    ratio = torch.exp(logprobs - old_logprobs)  # (B, R)
    unclipped = ratio * adv
    clipped_value = torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high) * adv
    surrogate = torch.minimum(unclipped, clipped_value)  # (B, R)
    if dual_clip is not None:
        surrogate = torch.where(adv < 0, torch.maximum(surrogate, dual_clip * adv), surrogate)
    clipped = (clipped_value < unclipped) & (mask > 0)
    return SurrogateTerms(-surrogate * mask, clipped, ratio)


def k3_kl(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, R) k3 estimator of KL(π_θ ‖ π_ref): exp(r) − r − 1 with r = log π_ref − log π_θ (Schulman 2020)."""
    log_ratio = ref_logprobs - logprobs
    return (torch.exp(log_ratio) - log_ratio - 1.0) * mask


def token_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ values / Σ mask over the whole batch: every token weighs the same (EasyR1 ``token``)."""
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def seq_mean_token_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over sequences of each sequence's token mean (the GRPO paper's 1/|o_i| form)."""
    per_sequence = (values * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)  # (B,)
    return per_sequence.mean()


LOSS_AGGREGATIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "token_mean": token_mean,
    "seq_mean_token_mean": seq_mean_token_mean,
}
