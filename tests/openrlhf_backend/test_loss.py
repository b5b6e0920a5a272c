"""GuidedPolicyLoss (OpenRLHF's PolicyLoss + per-row modes) equals npo_bench.grpo.losses: values and gradients."""

from __future__ import annotations

import pytest
import torch
from openrlhf.models import PolicyLoss

from npo_bench.grpo.losses import LOSS_AGGREGATIONS, LOSS_MODES, LossInputs, LossSettings, mixed_loss
from npo_bench_plugins.openrlhf.adapter import LOSS_MODE_CODES
from npo_bench_plugins.openrlhf.loss import GuidedPolicyLoss, RowModes

SETTINGS = LossSettings(eps_low=0.2, eps_high=0.28, is_cap=2.0, shaping_gamma=0.1)
AGG = {"token_mean": "token-mean", "seq_mean_token_mean": "seq-mean-token-mean"}


def batch(seed: int = 0, b: int = 6, a: int = 9):
    g = torch.Generator().manual_seed(seed)
    logprobs = (-torch.rand(b, a, generator=g) * 3).requires_grad_()
    old = logprobs.detach() + torch.randn(b, a, generator=g) * 0.3  # ratios on both sides of the clip
    behaviour = logprobs.detach() + torch.randn(b, a, generator=g) * 0.5
    lengths = torch.randint(3, a + 1, (b,), generator=g)
    mask = (torch.arange(a) < lengths.unsqueeze(-1)).float()  # (B, A) ragged rows
    adv = torch.randn(b, generator=g)
    return logprobs, old, behaviour * mask, adv, mask


def reference(modes, agg, logprobs, old, behaviour, adv, mask):
    inputs = LossInputs(logprobs, old, behaviour, adv, mask)
    terms = mixed_loss(inputs, modes, SETTINGS)
    aggregation = LOSS_AGGREGATIONS[agg]
    return aggregation.numerator(terms.token_loss, mask) / aggregation.denominator(mask)


def guided(modes, agg, logprobs, old, behaviour, adv, mask):
    loss_fn = GuidedPolicyLoss(
        is_cap=SETTINGS.is_cap, shaping_gamma=SETTINGS.shaping_gamma,
        clip_eps_low=0.2, clip_eps_high=0.28, token_level_loss=agg == "token_mean",
    )  # fmt: skip
    loss_fn.rows = RowModes(torch.tensor([LOSS_MODE_CODES[m] for m in modes]), behaviour)
    # OpenRLHF's training path: advantages broadcast over action tokens, global normalisers of the step
    info = {"batch_num_tokens": mask.sum(), "global_batch_size": (mask.sum(-1) > 0).sum().float()}
    loss, *_ = loss_fn(logprobs, old, adv.unsqueeze(-1) * mask, action_mask=mask.bool(), **info)
    return loss


MIXES = [
    ["on_policy"] * 6,
    ["on_policy"] * 5 + ["importance"],
    ["on_policy"] * 5 + ["luffy"],
    ["on_policy"] * 5 + ["exgrpo"],
    ["luffy"] * 6,
    ["importance", "on_policy", "exgrpo", "luffy", "on_policy", "importance"],
]


@pytest.mark.parametrize("agg", ["token_mean", "seq_mean_token_mean"])
@pytest.mark.parametrize("modes", MIXES, ids=lambda m: "+".join(sorted(set(m))))
def test_values_and_gradients_equal_the_embedded_losses(modes, agg):
    for seed in range(3):
        logprobs, old, behaviour, adv, mask = batch(seed)
        ours = reference(modes, agg, logprobs, old, behaviour, adv, mask)
        (grad_ours,) = torch.autograd.grad(ours, logprobs)
        theirs = guided(modes, agg, logprobs, old, behaviour, adv, mask)
        (grad_theirs,) = torch.autograd.grad(theirs, logprobs)
        assert float(theirs) == pytest.approx(float(ours), abs=1e-6)
        assert torch.allclose(grad_theirs, grad_ours, atol=1e-6), (grad_theirs - grad_ours).abs().max()
        assert grad_ours.abs().sum() > 0  # the comparison is not between two zeros


def test_every_registered_loss_mode_is_covered():
    covered = {mode for mix in MIXES for mode in mix}
    assert covered == set(LOSS_MODES)


def test_all_on_policy_rows_are_the_stock_policy_loss():
    logprobs, old, _, adv, mask = batch(1)
    stock = PolicyLoss(0.2, 0.28)(logprobs, old, adv.unsqueeze(-1) * mask, action_mask=mask.bool())
    ours = guided(["on_policy"] * 6, "token_mean", logprobs, old, torch.zeros_like(mask), adv, mask)
    assert float(ours) == float(stock[0])


def test_rows_are_used_for_one_call_only():
    loss_fn = GuidedPolicyLoss(is_cap=2.0, shaping_gamma=0.1, clip_eps_low=0.2, clip_eps_high=0.28)
    logprobs, old, behaviour, adv, mask = batch(2)
    loss_fn.rows = RowModes(torch.tensor([LOSS_MODE_CODES["luffy"]] * 6), behaviour)
    first, *_ = loss_fn(logprobs, old, adv.unsqueeze(-1) * mask, action_mask=mask.bool())
    second, *_ = loss_fn(logprobs, old, adv.unsqueeze(-1) * mask, action_mask=mask.bool())
    assert float(first) != pytest.approx(float(second))
    assert loss_fn.rows is None
