"""Per-token log-probabilities and entropies of responses under a policy (teacher forcing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from npo_bench.policy.batching import SequenceBatch
from npo_bench.policy.loading import Policy
from npo_bench.policy.shared_prompt import can_share_prompts, shared_prompt_logits

_NO_MASS = -1e9  # finite, so that 0 · log 0 stays 0 in the entropy


@dataclass(frozen=True, eq=False)
class TokenStats:
    logprobs: torch.Tensor  # (B, R) log π(token) at the given temperature; 0 where response_mask is 0
    entropy: torch.Tensor | None  # (B, R) entropy of the token distribution, or None when not requested


def response_logits(policy: Policy, batch: SequenceBatch) -> torch.Tensor:
    """(B, R, V) logits predicting each response token (column P-1+j predicts token P+j).

    With ``policy.share_prompts`` each distinct prompt of the batch runs once (:mod:`shared_prompt`)."""
    if policy.share_prompts and can_share_prompts(policy, batch):
        return shared_prompt_logits(policy, batch)
    resp_width = batch.response_mask.shape[1]
    out = policy.model(**batch.model_inputs(policy.device), logits_to_keep=resp_width + 1, use_cache=False)
    return out.logits[:, :-1, :]  # drop the prediction after the last token


def token_stats(
    logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float,
    with_entropy: bool,
    suppress_ids: Sequence[int] = (),
) -> TokenStats:
    """Gather log π(targets) from (B, R, V) logits scaled by ``temperature``.

    Tokens in ``suppress_ids`` (image placeholders, padding…) get no mass, exactly as in sampling, so these
    log-probs are those of the distribution the rollouts were drawn from.
    """
    scaled = logits.float() / (temperature if temperature > 0 else 1.0)
    if suppress_ids:
        scaled[..., list(suppress_ids)] = _NO_MASS
    log_probs = torch.log_softmax(scaled, dim=-1)  # (B, R, V)
    chosen = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, R)
    entropy = None
    if with_entropy:
        entropy = -(log_probs.exp() * log_probs).sum(-1)  # (B, R)
    return TokenStats(chosen, entropy)


def response_token_stats(
    policy: Policy, batch: SequenceBatch, temperature: float, with_entropy: bool = False
) -> TokenStats:
    """Log-probs (and entropies) of ``batch``'s responses; differentiable unless called under ``no_grad``."""
    logits = response_logits(policy, batch)
    targets = batch.input_ids[:, batch.prompt_width :].to(logits.device)  # (B, R)
    stats = token_stats(logits, targets, temperature, with_entropy, policy.suppress_ids)
    mask = batch.response_mask.to(logits.device)
    entropy = stats.entropy * mask if stats.entropy is not None else None
    return TokenStats(stats.logprobs * mask, entropy)
