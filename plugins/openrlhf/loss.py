"""``GuidedPolicyLoss``: OpenRLHF's ``PolicyLoss`` with npo-bench's per-row loss modes.

On-policy rows go through the stock PPO surrogate (``PolicyLoss.forward`` on those rows); rows in another mode
(``importance``, ``luffy``, ``exgrpo``) get the per-token loss of :data:`npo_bench.grpo.losses.LOSS_MODES` — the
functions the embedded backend trains with — aggregated by OpenRLHF's ``aggregate_loss`` with the same global
normalisers. ``aggregate_loss`` is linear in the masked token losses once ``batch_num_tokens``/``global_batch_size``
are fixed, so the two parts add up to one aggregation over the whole micro-batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from openrlhf.models import PolicyLoss, aggregate_loss
from openrlhf.models.utils import masked_mean

from npo_bench.grpo.losses import LossInputs, LossSettings, mixed_loss
from npo_bench_plugins.openrlhf.adapter import LOSS_MODE_CODES, LOSS_MODE_NAMES

ON_POLICY = LOSS_MODE_CODES["on_policy"]


@dataclass(frozen=True, eq=False)
class RowModes:
    """The loss mode and behaviour log-probs of each row of one micro-batch."""

    codes: torch.Tensor  # (B,) int, adapter.LOSS_MODE_CODES
    behaviour: torch.Tensor | None  # (B, A) recorded log-probs aligned with action_mask (0 where a row has none)

    @property
    def all_on_policy(self) -> bool:
        return bool((self.codes == ON_POLICY).all())


class GuidedPolicyLoss(PolicyLoss):
    """``PolicyLoss`` whose rows may each use another loss mode; ``rows`` is set for the next call only."""

    def __init__(self, *, is_cap: float, shaping_gamma: float, **policy_loss_kwargs) -> None:
        super().__init__(**policy_loss_kwargs)
        if self.dual_clip is not None or self.policy_loss_type != "ppo" or self.is_correction_level != "off":
            raise ValueError("GuidedPolicyLoss needs the plain PPO surrogate (no dual clip, no GSPO, no IS correction)")
        self.settings = LossSettings(self.clip_eps_low, self.clip_eps_high, is_cap, shaping_gamma)
        self.rows: RowModes | None = None

    def forward(
        self,
        log_probs: torch.Tensor,
        old_log_probs: torch.Tensor,
        advantages: torch.Tensor,
        action_mask: torch.Tensor | None = None,
        rollout_log_probs: torch.Tensor | None = None,
        dp_size: int = 1,
        batch_num_tokens: float | torch.Tensor | None = None,
        global_batch_size: float | torch.Tensor | None = None,
    ):
        rows, self.rows = self.rows, None
        if rows is None or rows.all_on_policy:
            return super().forward(
                log_probs, old_log_probs, advantages, action_mask, rollout_log_probs,
                dp_size, batch_num_tokens, global_batch_size,
            )  # fmt: skip
        mask = action_mask.float()  # (B, A)
        if batch_num_tokens is None:  # fix the normalisers of the whole micro-batch, so the parts add up
            batch_num_tokens = mask.sum()
        if global_batch_size is None:
            global_batch_size = (mask.sum(-1) > 0).sum().float()
        on_policy = (rows.codes.to(mask.device) == ON_POLICY).unsqueeze(-1)  # (B, 1)
        stock_loss, *_ = super().forward(
            log_probs, old_log_probs, advantages, action_mask * on_policy, None,
            dp_size, batch_num_tokens, global_batch_size,
        )  # fmt: skip
        terms = mixed_loss(
            self._inputs(log_probs, old_log_probs, advantages, mask, rows), self._modes(rows), self.settings
        )
        guided_loss = aggregate_loss(
            terms.token_loss,
            mask * ~on_policy,
            token_level_loss=self.token_level_loss,
            dp_size=dp_size,
            batch_num_tokens=batch_num_tokens,
            global_batch_size=global_batch_size,
        )
        clip_ratio = masked_mean(terms.clipped.float(), mask, dim=None)
        ppo_kl = masked_mean(-(log_probs - old_log_probs).detach(), mask, dim=None)
        return stock_loss + guided_loss, clip_ratio, ppo_kl, None, None

    @staticmethod
    def _modes(rows: RowModes) -> list[str]:
        return [LOSS_MODE_NAMES[int(code)] for code in rows.codes]

    @staticmethod
    def _inputs(log_probs, old_log_probs, advantages, mask, rows: RowModes) -> LossInputs:
        # OpenRLHF broadcasts each row's advantage over its action tokens: (B, A) → (B,)
        per_row = (advantages * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)
        behaviour = rows.behaviour if rows.behaviour is not None else torch.zeros_like(log_probs)
        return LossInputs(
            logprobs=log_probs,
            old_logprobs=old_log_probs,
            behaviour_logprobs=behaviour.to(log_probs),
            advantages=per_row,
            mask=mask,
        )


def row_modes(info: dict, rollout_log_probs: torch.Tensor | None) -> RowModes | None:
    """Take the guided maker's per-row codes out of an ``Experience.info`` (a (B,) tensor before the replay buffer,
    a list of 0-d tensors after its split and merge)."""
    codes = info.pop("npo_loss_mode", None)
    info.pop("npo_group", None)
    if codes is None:
        return None
    codes = torch.stack(list(codes)) if isinstance(codes, list) else codes
    return RowModes(codes.long().reshape(-1), rollout_log_probs)
