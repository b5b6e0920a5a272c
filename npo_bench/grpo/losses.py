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


def truncated_importance_surrogate(
    logprobs: torch.Tensor,
    behaviour_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    eps_low: float,
    eps_high: float,
    cap: float,
) -> SurrogateTerms:
    """NPO's IS ablation on the guide slot (§3.4): the clipped surrogate with q = π^(t+Δ) as π_old.

    ρ = π_θ / π_guide is truncated at ``cap`` before it enters both branches (truncated IS), so a guide token that
    the current policy finds far likelier than the guide did cannot dominate the update.
    """
    ratio = torch.exp(logprobs - behaviour_logprobs).clamp(max=cap)  # (B, R)
    capped_logprobs = behaviour_logprobs + torch.log(ratio)
    # keep the gradient of log π_θ where the cap is not active, none where it is
    logprobs_eff = torch.where(ratio < cap, logprobs, capped_logprobs.detach())
    return clipped_surrogate(logprobs_eff, behaviour_logprobs, advantages, mask, eps_low, eps_high)


def shaped_probability_loss(
    logprobs: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, gamma: float
) -> SurrogateTerms:
    """LUFFY's off-policy term (``mix_core_alg``, ``off_policy_reshape="p_div_p_0.1"``): −Â·f(π_θ), f(p) = p/(p+γ).

    The behaviour probability is taken as 1 (the teacher's own probability is unknown), and nothing is clipped.
    f' = γ/(p+γ)² boosts low-probability teacher tokens relative to plain likelihood.
    """
    prob = torch.exp(logprobs)  # (B, R) π_θ(token)
    shaped = prob / (prob + gamma)
    loss = -shaped * advantages.unsqueeze(-1) * mask
    return SurrogateTerms(loss, torch.zeros_like(mask, dtype=torch.bool), prob)


def shaped_ratio_loss(
    logprobs: torch.Tensor,
    recorded_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    gamma: float,
) -> SurrogateTerms:
    """ExGRPO's replay term (``replace_recorded_old_log_probs`` + ``mix_core_alg``): −Â·f(w), w = π_θ/π_recorded,
    f(w) = w/(w+γ), unclipped, with π_recorded the log-probs stored when the trajectory was collected."""
    ratio = torch.exp(logprobs - recorded_logprobs)  # (B, R)
    shaped = ratio / (ratio + gamma)
    loss = -shaped * advantages.unsqueeze(-1) * mask
    return SurrogateTerms(loss, torch.zeros_like(mask, dtype=torch.bool), ratio)


def k3_kl(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, R) k3 estimator of KL(π_θ ‖ π_ref): exp(r) − r − 1 with r = log π_ref − log π_θ (Schulman 2020)."""
    log_ratio = ref_logprobs - logprobs
    return (torch.exp(log_ratio) - log_ratio - 1.0) * mask


def token_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ values / Σ mask over the whole batch: every token weighs the same (EasyR1 ``token``)."""
    return TOKEN_MEAN.numerator(values, mask) / TOKEN_MEAN.denominator(mask).clamp(min=1.0)


def seq_mean_token_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over sequences of each sequence's token mean (the GRPO paper's 1/|o_i| form)."""
    return SEQ_MEAN_TOKEN_MEAN.numerator(values, mask) / SEQ_MEAN_TOKEN_MEAN.denominator(mask).clamp(min=1.0)


@dataclass(frozen=True)
class Aggregation:
    """A loss aggregation split into a numerator that adds up over micro-batches and a mini-batch denominator.

    ``loss = Σ_micro numerator(values, mask) / denominator(mask of the whole mini-batch)`` equals the aggregation
    computed on the whole mini-batch at once, so gradient accumulation never changes the loss.
    """

    numerator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    denominator: Callable[[torch.Tensor], torch.Tensor]


TOKEN_MEAN = Aggregation(
    numerator=lambda values, mask: (values * mask).sum(),
    denominator=lambda mask: mask.sum(),
)
SEQ_MEAN_TOKEN_MEAN = Aggregation(
    numerator=lambda values, mask: ((values * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).sum(),
    denominator=lambda mask: (mask.sum(-1) > 0).sum().to(mask.dtype),
)
LOSS_AGGREGATIONS: dict[str, Aggregation] = {
    "token_mean": TOKEN_MEAN,
    "seq_mean_token_mean": SEQ_MEAN_TOKEN_MEAN,
}


# ---- per-sample loss modes ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LossInputs:
    logprobs: torch.Tensor  # (B, R) log π_θ, differentiable
    old_logprobs: torch.Tensor  # (B, R) log π_old (the policy that sampled the on-policy rollouts)
    behaviour_logprobs: torch.Tensor  # (B, R) log-probs recorded with an injected trajectory (0 where none)
    advantages: torch.Tensor  # (B,)
    mask: torch.Tensor  # (B, R)


@dataclass(frozen=True)
class LossSettings:
    eps_low: float
    eps_high: float
    is_cap: float  # truncation of π_θ/π_guide in ``importance`` mode
    shaping_gamma: float  # γ of f(x) = x/(x+γ) in ``luffy`` and ``exgrpo`` modes


LOSS_MODES: dict[str, Callable[[LossInputs, LossSettings], SurrogateTerms]] = {
    # on-policy rows and NPO's default guide slot: old log-probs recomputed by the current policy
    "on_policy": lambda x, s: clipped_surrogate(
        x.logprobs, x.old_logprobs, x.advantages, x.mask, s.eps_low, s.eps_high
    ),
    "importance": lambda x, s: truncated_importance_surrogate(
        x.logprobs, x.behaviour_logprobs, x.advantages, x.mask, s.eps_low, s.eps_high, s.is_cap
    ),
    "luffy": lambda x, s: shaped_probability_loss(x.logprobs, x.advantages, x.mask, s.shaping_gamma),
    "exgrpo": lambda x, s: shaped_ratio_loss(x.logprobs, x.behaviour_logprobs, x.advantages, x.mask, s.shaping_gamma),
}


def mixed_loss(inputs: LossInputs, modes: list[str], settings: LossSettings) -> SurrogateTerms:
    """Per-token losses where row ``i`` uses the loss of ``modes[i]`` (the registry of modes decides, no if-chains)."""
    token_loss = torch.zeros_like(inputs.mask)
    clipped = torch.zeros_like(inputs.mask, dtype=torch.bool)
    ratio = torch.ones_like(inputs.mask)
    for mode in sorted(set(modes)):
        rows = torch.tensor([m == mode for m in modes], device=inputs.mask.device).unsqueeze(-1)  # (B, 1)
        terms = LOSS_MODES[mode](inputs, settings)
        token_loss = torch.where(rows, terms.token_loss, token_loss)
        clipped = torch.where(rows, terms.clipped, clipped)
        ratio = torch.where(rows, terms.ratio, ratio)
    return SurrogateTerms(token_loss, clipped, ratio)
