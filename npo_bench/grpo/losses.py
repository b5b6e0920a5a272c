"""Policy losses, their aggregation over tokens, and the per-member loss modes.

All functions take per-token tensors of shape (B, R) with a float ``mask`` (1 on response tokens) and per-sequence
advantages (B,). They return a scalar loss to *minimise* plus diagnostics.

A loss mode is the one fact a group member's training role adds to the update: it lives on the member
(``Trajectory.loss_mode``) and its loss lives here, in :data:`LOSS_MODES`. Adding a mode means adding its loss
function, its name to :data:`LossMode` and its entry to :data:`LOSS_MODES` — in this file — and setting it on the
trajectories of the one source that uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch

if TYPE_CHECKING:
    from npo_bench.types import Trajectory

LossMode = Literal["on_policy", "importance", "luffy", "exgrpo"]  # the keys of LOSS_MODES


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


@dataclass(frozen=True)
class LossModeSpec:
    """One per-member loss mode: its per-token loss, and whether it reads the member's recorded log-probs
    (``Trajectory.logprobs``, the behaviour policy's) as ``LossInputs.behaviour_logprobs``."""

    loss: Callable[[LossInputs, LossSettings], SurrogateTerms]
    reads_behaviour_logprobs: bool = False


LOSS_MODES: dict[str, LossModeSpec] = {
    # on-policy rows, NPO's default guide slot, RLEP: old log-probs recomputed by the current policy
    "on_policy": LossModeSpec(
        lambda x, s: clipped_surrogate(x.logprobs, x.old_logprobs, x.advantages, x.mask, s.eps_low, s.eps_high)
    ),
    # NPO's IS ablation: the guide's own log-probs as π_old, ratio truncated
    "importance": LossModeSpec(
        lambda x, s: truncated_importance_surrogate(
            x.logprobs, x.behaviour_logprobs, x.advantages, x.mask, s.eps_low, s.eps_high, s.is_cap
        ),
        reads_behaviour_logprobs=True,
    ),
    # LUFFY's teacher trace: −Â·f(π_θ), no behaviour probability
    "luffy": LossModeSpec(lambda x, s: shaped_probability_loss(x.logprobs, x.advantages, x.mask, s.shaping_gamma)),
    # ExGRPO's replayed success: −Â·f(π_θ/π_recorded)
    "exgrpo": LossModeSpec(
        lambda x, s: shaped_ratio_loss(x.logprobs, x.behaviour_logprobs, x.advantages, x.mask, s.shaping_gamma),
        reads_behaviour_logprobs=True,
    ),
}


def behaviour_logprobs(member: Trajectory) -> torch.Tensor | None:
    """(L,) the log-probs a member's loss mode reads as π_behaviour, or None when its mode reads none."""
    return member.logprobs if LOSS_MODES[member.loss_mode].reads_behaviour_logprobs else None


def check_member(member: Trajectory) -> None:
    """A clear error for a member the update cannot train: unknown loss mode, or recorded log-probs missing or not
    matching the response when the mode reads them."""
    spec = LOSS_MODES.get(member.loss_mode)
    if spec is None:
        raise ValueError(f"unknown loss mode {member.loss_mode!r} (known: {', '.join(LOSS_MODES)})")
    if not spec.reads_behaviour_logprobs:
        return
    if member.logprobs is None:
        raise ValueError(
            f"loss mode {member.loss_mode!r} needs the recorded log-probs (trajectory.logprobs) of the trajectory "
            f"for {member.prompt_id}"
        )
    if member.logprobs.shape != member.response_ids.shape:
        raise ValueError(
            f"recorded log-probs {tuple(member.logprobs.shape)} do not match response "
            f"{tuple(member.response_ids.shape)} of the trajectory for {member.prompt_id}"
        )


def mixed_loss(inputs: LossInputs, modes: list[str], settings: LossSettings) -> SurrogateTerms:
    """Per-token losses where row ``i`` uses the loss of ``modes[i]`` (the registry of modes decides, no if-chains)."""
    token_loss = torch.zeros_like(inputs.mask)
    clipped = torch.zeros_like(inputs.mask, dtype=torch.bool)
    ratio = torch.ones_like(inputs.mask)
    for mode in sorted(set(modes)):
        rows = torch.tensor([m == mode for m in modes], device=inputs.mask.device).unsqueeze(-1)  # (B, 1)
        terms = LOSS_MODES[mode].loss(inputs, settings)
        token_loss = torch.where(rows, terms.token_loss, token_loss)
        clipped = torch.where(rows, terms.clipped, clipped)
        ratio = torch.where(rows, terms.ratio, ratio)
    return SurrogateTerms(token_loss, clipped, ratio)
