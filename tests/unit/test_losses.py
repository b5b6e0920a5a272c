"""The clipped surrogate and its aggregations against hand-computed values and finite differences."""

import math

import pytest
import torch

from npo_bench.grpo.losses import clipped_surrogate, k3_kl, seq_mean_token_mean, token_mean
from npo_bench.testing import finite_difference_gradient


def test_surrogate_values_by_hand():
    # one sequence, three tokens: ratios e^0.1 (inside clip), e^0.5 (above 1+0.28), e^-0.5 (below 1-0.2)
    old = torch.zeros(1, 3)
    new = torch.tensor([[0.1, 0.5, -0.5]])
    mask = torch.ones(1, 3)
    pos = clipped_surrogate(new, old, torch.tensor([2.0]), mask, 0.2, 0.28)
    expected_pos = [-2 * math.exp(0.1), -2 * 1.28, -2 * math.exp(-0.5)]  # A>0: min(ρA, clip(ρ)A)
    assert pos.token_loss[0].tolist() == pytest.approx(expected_pos, rel=1e-6)
    assert pos.clipped[0].tolist() == [False, True, False]
    neg = clipped_surrogate(new, old, torch.tensor([-1.0]), mask, 0.2, 0.28)
    expected_neg = [math.exp(0.1), math.exp(0.5), 0.8]  # A<0: min picks the larger |.|: clip below at 0.8
    assert neg.token_loss[0].tolist() == pytest.approx(expected_neg, rel=1e-6)
    assert neg.clipped[0].tolist() == [False, False, True]


def test_dual_clip_bounds_negative_advantage_loss():
    terms = clipped_surrogate(
        torch.tensor([[2.0]]), torch.zeros(1, 1), torch.tensor([-1.0]), torch.ones(1, 1), 0.2, 0.28, 3.0
    )
    assert terms.token_loss.item() == pytest.approx(3.0)  # e^2 ≈ 7.39 capped at c·|A| = 3


def test_mask_zeroes_padding():
    terms = clipped_surrogate(
        torch.zeros(1, 4), torch.zeros(1, 4), torch.tensor([1.0]), torch.tensor([[1, 1, 0, 0.0]]), 0.2, 0.28
    )
    assert terms.token_loss.tolist() == [[-1.0, -1.0, 0.0, 0.0]]


def test_token_mean_vs_seq_mean_token_mean():
    values = torch.tensor([[1.0, 1.0, 1.0, 1.0], [4.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0]])
    assert token_mean(values, mask).item() == pytest.approx(8 / 5)
    assert seq_mean_token_mean(values, mask).item() == pytest.approx((1.0 + 4.0) / 2)


def test_k3_kl_is_zero_at_equality_and_positive_otherwise():
    mask = torch.ones(1, 2)
    assert k3_kl(torch.tensor([[-1.0, -2.0]]), torch.tensor([[-1.0, -2.0]]), mask).abs().max().item() == 0.0
    r = -0.3  # log π_ref − log π_θ
    kl = k3_kl(torch.tensor([[0.0]]), torch.tensor([[r]]), torch.ones(1, 1))
    assert kl.item() == pytest.approx(math.exp(r) - r - 1)


@pytest.mark.parametrize("aggregate", [token_mean, seq_mean_token_mean])
def test_loss_gradient_matches_finite_differences(aggregate):
    torch.manual_seed(0)
    logits = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)  # stands in for the policy's log-probs
    old = torch.randn(3, 5, dtype=torch.float64) * 0.1 + logits.detach()
    adv = torch.tensor([1.5, -0.7, 0.3], dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], dtype=torch.float64)

    def loss_of(x):
        return aggregate(clipped_surrogate(x, old, adv, mask, 0.2, 0.28).token_loss, mask)

    loss_of(logits).backward()
    numeric = finite_difference_gradient(loss_of, logits)
    assert torch.allclose(logits.grad, numeric, atol=1e-6)
    assert logits.grad[1, 3:].abs().max().item() == 0.0  # masked tokens get no gradient
