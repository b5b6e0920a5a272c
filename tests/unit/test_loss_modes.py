"""Per-sample loss modes (on_policy, importance, luffy, exgrpo) against hand-computed values and finite differences."""

import dataclasses
import math
import typing

import pytest
import torch

from npo_bench.grpo.losses import (
    LOSS_MODES,
    LossInputs,
    LossMode,
    LossSettings,
    behaviour_logprobs,
    mixed_loss,
    shaped_probability_loss,
    shaped_ratio_loss,
    truncated_importance_surrogate,
)
from npo_bench.testing import finite_difference_gradient
from npo_bench.types import Trajectory

SETTINGS = LossSettings(eps_low=0.2, eps_high=0.28, is_cap=2.0, shaping_gamma=0.1)


def test_luffy_shaping_by_hand():
    p = torch.tensor([[0.5, 0.05]])
    terms = shaped_probability_loss(p.log(), torch.tensor([2.0]), torch.ones(1, 2), gamma=0.1)
    assert terms.token_loss[0].tolist() == pytest.approx([-2 * 0.5 / 0.6, -2 * 0.05 / 0.15], rel=1e-6)


def test_exgrpo_shaping_by_hand():
    new, recorded = torch.tensor([[math.log(0.3)]]), torch.tensor([[math.log(0.6)]])
    terms = shaped_ratio_loss(new, recorded, torch.tensor([-1.0]), torch.ones(1, 1), gamma=0.1)
    assert terms.token_loss.item() == pytest.approx(0.5 / 0.6, rel=1e-6)  # w = 0.5, f = 0.5/0.6, A = −1


def test_importance_uses_the_guide_as_old_policy_and_truncates():
    behaviour = torch.zeros(1, 3)
    new = torch.tensor([[0.1, math.log(3.0), -0.5]])
    terms = truncated_importance_surrogate(new, behaviour, torch.tensor([-1.0]), torch.ones(1, 3), 0.2, 0.28, cap=2.0)
    # A < 0: loss = max(ρ, clip(ρ)) with ρ truncated at 2: e^0.1, 2 (not 3), 0.8
    assert terms.token_loss[0].tolist() == pytest.approx([math.exp(0.1), 2.0, 0.8], rel=1e-6)


def test_mixed_loss_dispatches_per_row():
    logprobs = torch.log(torch.tensor([[0.5], [0.5], [0.5], [0.5]]))
    inputs = LossInputs(
        logprobs=logprobs,
        old_logprobs=logprobs.clone(),
        behaviour_logprobs=torch.log(torch.tensor([[1.0], [0.25], [1.0], [0.25]])),
        advantages=torch.tensor([1.0, 1.0, 1.0, 1.0]),
        mask=torch.ones(4, 1),
    )
    terms = mixed_loss(inputs, ["on_policy", "importance", "luffy", "exgrpo"], SETTINGS)
    expected = [-1.0, -1.28, -0.5 / 0.6, -2.0 / 2.1]  # ρ=1; ρ=2 clipped to 1.28; f(0.5); f(w=2)
    assert terms.token_loss[:, 0].tolist() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("mode", sorted(LOSS_MODES))
def test_each_mode_gradient_matches_finite_differences(mode):
    torch.manual_seed(1)
    x = (torch.rand(2, 4, dtype=torch.float64) * -2.0).requires_grad_(True)  # log-probs in (−2, 0)
    inputs = dict(
        old_logprobs=x.detach() + 0.05 * torch.randn(2, 4, dtype=torch.float64),
        behaviour_logprobs=x.detach() + 0.3 * torch.randn(2, 4, dtype=torch.float64),
        advantages=torch.tensor([0.8, -1.3], dtype=torch.float64),
        mask=torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.float64),
    )

    def loss_of(logprobs):
        terms = LOSS_MODES[mode].loss(LossInputs(logprobs=logprobs, **inputs), SETTINGS)
        return terms.token_loss.sum()

    loss_of(x).backward()
    numeric = finite_difference_gradient(loss_of, x)
    assert torch.allclose(x.grad, numeric, atol=1e-5), (mode, x.grad, numeric)
    assert x.grad[0, 3].item() == 0.0


def test_luffy_gradient_is_gamma_over_p_plus_gamma_squared():
    p = 0.2
    x = torch.tensor([[math.log(p)]], requires_grad=True)
    shaped_probability_loss(x, torch.tensor([1.0]), torch.ones(1, 1), gamma=0.1).token_loss.sum().backward()
    # d/dlogp of −p/(p+γ) = −p·γ/(p+γ)²
    assert x.grad.item() == pytest.approx(-p * 0.1 / (p + 0.1) ** 2, rel=1e-6)


def test_the_loss_mode_names_are_the_registry():
    """``LossMode`` (the type a trajectory's ``loss_mode`` has) and ``LOSS_MODES`` live in one file and agree."""
    assert set(typing.get_args(LossMode)) == set(LOSS_MODES)
    reading = {name for name, spec in LOSS_MODES.items() if spec.reads_behaviour_logprobs}
    assert reading == {"importance", "exgrpo"}  # the modes whose loss has a π_behaviour in it


def test_behaviour_logprobs_come_from_the_member_only_when_its_mode_reads_them():
    recorded = torch.tensor([-0.5, -0.25])
    member = Trajectory("p", torch.tensor([3, 4]), "t", logprobs=recorded)
    assert behaviour_logprobs(member) is None  # on_policy recomputes π_old
    assert behaviour_logprobs(dataclasses.replace(member, loss_mode="importance")) is recorded
    assert behaviour_logprobs(dataclasses.replace(member, loss_mode="luffy")) is None
