"""One GRPO step, phase by phase — the algorithm as code:

    generate (n per prompt) → verify (reward per trajectory) → guide (source: group surgery)
    → advantages (group-relative) → update (clipped surrogate, per mini-batch) → metrics

Each phase is a function of plain data; the backend wires them together and owns the state.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from npo_bench.config import RunConfig
from npo_bench.grpo.advantages import group_advantages
from npo_bench.grpo.losses import (
    LOSS_AGGREGATIONS,
    Aggregation,
    LossInputs,
    LossSettings,
    SurrogateTerms,
    behaviour_logprobs,
    k3_kl,
    mixed_loss,
)
from npo_bench.policy.batching import Encode, PromptEncoding
from npo_bench.policy.loading import Policy
from npo_bench.policy.logprobs import response_token_stats
from npo_bench.policy.micro_batches import MicroBatch, MicroBatching, forward_micro_batches
from npo_bench.policy.sampling import sample
from npo_bench.types import Group, Injection, Prompt, StepPhase, Trajectory
from npo_bench.verify.format import training_reward, well_formed


# ---- generate ------------------------------------------------------------------------------------------------------
def generate(
    policy: Policy, prompts: Sequence[Prompt], config: RunConfig, origin: str = "policy", encode: Encode | None = None
) -> list[Group]:
    """n on-policy rollouts per prompt at the training temperature."""
    r = config.rollout
    template = config.task.prompt_template
    samples = sample(
        policy, prompts, r.n, r.temperature, r.top_p, r.max_new_tokens, template, origin=origin, encode=encode
    )
    return [Group(prompt, tuple(trajs)) for prompt, trajs in zip(prompts, samples, strict=True)]


# ---- verify --------------------------------------------------------------------------------------------------------
def verify_groups(groups: Sequence[Group], benchmark: Any, format_weight: float) -> list[Group]:
    """Reward every trajectory with the benchmark's scorer: r = (1−w)·score + w·format."""
    return [
        Group(g.prompt, tuple(score_trajectory(t, g.prompt, benchmark, format_weight) for t in g.trajectories))
        for g in groups
    ]


def score_trajectory(trajectory: Trajectory, prompt: Prompt, benchmark: Any, format_weight: float) -> Trajectory:
    """The benchmark's verdict on one response, and its training reward (:func:`verify.format.training_reward`)."""
    verdict = benchmark.score(prompt, trajectory.text)
    reward = training_reward(float(verdict.score), trajectory.text, format_weight)
    return dataclasses.replace(trajectory, reward=reward, correct=bool(verdict.correct))


# ---- advantages ----------------------------------------------------------------------------------------------------
def compute_advantages(groups: Sequence[Group], config: RunConfig) -> list[torch.Tensor]:
    """Group-relative advantages over each *mixed* group (after guidance surgery)."""
    rewards = [torch.tensor(g.rewards, dtype=torch.float32) for g in groups]  # each (n,) or (n+M,)
    return group_advantages(rewards, config.trainer.advantage, config.trainer.adv_eps)


# ---- update --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Rows:
    """The step's training rows: every non-empty member of every (mixed) group, with its prompt and advantage.

    A member brings its own role (``loss_mode``, recorded ``logprobs``): the update reads it from the member."""

    encodings: list[PromptEncoding]  # the prompt of each row (one object per prompt: rows of a group share it)
    members: list[Trajectory]
    advantages: torch.Tensor  # (B,)

    @property
    def responses(self) -> list[torch.Tensor]:
        return [member.response_ids for member in self.members]  # each (L,)


def training_rows(groups: Sequence[Group], advantages: Sequence[torch.Tensor], encode: Encode) -> Rows:
    """One row per member of every group, in group order; an empty response has nothing to learn from."""
    encodings, members, advs = [], [], []
    for group, group_advantages_ in zip(groups, advantages, strict=True):
        encoding = encode(group.prompt)
        for member, advantage in zip(group.trajectories, group_advantages_, strict=True):
            if member.length == 0:
                continue
            encodings.append(encoding)
            members.append(member)
            advs.append(float(advantage))
    return Rows(encodings, members, torch.tensor(advs, dtype=torch.float32))


def update_policy(
    policy: Policy, optimizer: torch.optim.Optimizer, rows: Rows, config: RunConfig, ref_model: Any | None = None
) -> dict[str, float]:
    """Clipped-surrogate updates over ``trainer.mini_batches`` mini-batches (rows dealt round-robin); diagnostics.

    With one mini-batch (the default) the update is exactly on-policy: π_old is the current policy, so the ratio is 1
    and π_old's log-probs are the detached log-probs of the same forward pass (no extra forward). Each mini-batch
    runs as length-sorted micro-batches (:mod:`npo_bench.policy.micro_batches`) whose gradients add up to exactly
    the mini-batch loss. Rows with advantage 0 skip the backward pass (``trainer.skip_zero_advantage``; their
    gradient is 0) and are measured without gradient.
    """
    t = config.trainer
    order = list(range(len(rows.members)))
    mini_batches = [order[i :: t.mini_batches] for i in range(t.mini_batches)] if t.mini_batches > 1 else [order]
    old_logprobs = _logprobs_of_rows(policy, rows, order, config) if t.mini_batches > 1 else None  # π_old, fixed
    diagnostics = _Diagnostics()
    policy.model.train()
    for mini_batch in mini_batches:
        if mini_batch:
            surrogate_step(policy, optimizer, rows, mini_batch, config, ref_model, old_logprobs, diagnostics)
    policy.model.eval()
    return diagnostics.metrics(len(mini_batches))


def surrogate_step(
    policy: Policy,
    optimizer: torch.optim.Optimizer,
    rows: Rows,
    mini_batch: Sequence[int],
    config: RunConfig,
    ref_model: Any | None,
    old_logprobs: dict[int, torch.Tensor] | None,
    diagnostics: _Diagnostics,
) -> None:
    """One optimizer step on the rows ``mini_batch``: minimise

        J(θ) = Σ_tokens ℓ_mode(π_θ, π_old, Â) / D  (+ β · Σ_tokens k3(π_θ ‖ π_ref) / D)

    with ℓ_mode each member's own loss (clipped surrogate, IS, LUFFY, ExGRPO) and D the aggregation's denominator
    over the whole mini-batch, accumulating ∇J over micro-batches; then clip the gradient norm and step."""
    objective = _Objective.of(rows, mini_batch, config, ref_model)
    skip = config.trainer.skip_zero_advantage and not objective.kl
    with_gradient, measured = split_zero_advantage(rows, mini_batch, skip)
    optimizer.zero_grad(set_to_none=True)
    loss_sum = kl_sum = 0.0
    for micro in _forward(policy, rows, with_gradient, config, with_entropy=True):
        old = micro.stats.logprobs.detach() if old_logprobs is None else _padded(old_logprobs, micro)
        loss, kl, terms = objective.loss(policy, rows, micro, old)
        loss.backward()
        loss_sum, kl_sum = loss_sum + float(loss.detach()), kl_sum + kl
        diagnostics.add(micro, old, terms.clipped)
    with torch.no_grad():  # Â = 0: no gradient, but the diagnostics (AutoNPO's entropy) cover every token
        for micro in _forward(policy, rows, measured, config, with_entropy=True):
            diagnostics.add(micro, micro.stats.logprobs if old_logprobs is None else _padded(old_logprobs, micro))
    grad_norm = torch.nn.utils.clip_grad_norm_(policy.model.parameters(), config.trainer.grad_clip)
    optimizer.step()
    diagnostics.add_step(loss_sum, kl_sum, float(grad_norm))


@dataclass(frozen=True, eq=False)
class _Objective:
    """What the loss of a mini-batch's micro-batches shares: the aggregation, its mini-batch denominator, the loss
    settings and the KL term (its coefficient and reference model; ``kl`` is False without one)."""

    aggregation: Aggregation
    denominator: torch.Tensor  # () ≥ 1: D over the whole mini-batch
    settings: LossSettings
    kl_coef: float
    ref_model: Any | None
    temperature: float  # of the rollouts, at which the reference model's log-probs are taken

    @property
    def kl(self) -> bool:
        return self.ref_model is not None and self.kl_coef > 0

    @staticmethod
    def of(rows: Rows, mini_batch: Sequence[int], config: RunConfig, ref_model: Any | None) -> _Objective:
        t = config.trainer
        aggregation = LOSS_AGGREGATIONS[t.loss_agg]
        lengths = torch.tensor([float(rows.members[i].length) for i in mini_batch])
        full_mask = (torch.arange(int(lengths.max())) < lengths.unsqueeze(-1)).float()  # (b, R) of the mini-batch
        settings = LossSettings(t.clip_eps_low, t.clip_eps_high, t.is_cap, t.shaping_gamma)
        denominator = aggregation.denominator(full_mask).clamp(min=1.0)
        return _Objective(aggregation, denominator, settings, t.kl_coef, ref_model, config.rollout.temperature)

    def loss(
        self, policy: Policy, rows: Rows, micro: MicroBatch, old: torch.Tensor
    ) -> tuple[torch.Tensor, float, SurrogateTerms]:
        """(this micro-batch's share of J, of its KL term, the per-token terms)."""
        mask = micro.mask  # (m, R)
        members = [rows.members[i] for i in micro.rows]
        inputs = LossInputs(
            logprobs=micro.stats.logprobs,
            old_logprobs=old,
            behaviour_logprobs=_padded({i: behaviour_logprobs(rows.members[i]) for i in micro.rows}, micro),
            advantages=rows.advantages[micro.rows].to(mask.device),  # (m,)
            mask=mask,
        )
        terms = mixed_loss(inputs, [member.loss_mode for member in members], self.settings)
        loss = self.aggregation.numerator(terms.token_loss, mask) / self.denominator
        if not self.kl:
            return loss, 0.0, terms
        with torch.no_grad():
            reference = dataclasses.replace(policy, model=self.ref_model)
            ref_logprobs = response_token_stats(reference, micro.batch, self.temperature).logprobs
        kl = self.aggregation.numerator(k3_kl(micro.stats.logprobs, ref_logprobs, mask), mask) / self.denominator
        return loss + self.kl_coef * kl, float(kl.detach()), terms


def split_zero_advantage(rows: Rows, mini_batch: Sequence[int], skip: bool) -> tuple[list[int], list[int]]:
    """(rows that need a backward pass, rows that are only measured).

    Every loss mode is linear in the advantage (−min(ρÂ, clip(ρ)Â), −f(p)Â, …), so a row with Â = 0 — every row
    of an all-0 or all-1 group under GRPO — has zero loss and zero gradient, and is never clipped. Skipping its
    backward pass changes nothing but the floating-point summation order (the loss denominator still counts its
    tokens). Not with a KL penalty, whose gradient does not vanish. At least one row keeps the backward pass, so
    that parameters get (zero) gradients and the optimizer steps exactly as before."""
    if not skip:
        return list(mini_batch), []
    backward = [i for i in mini_batch if float(rows.advantages[i]) != 0.0]
    if not backward and mini_batch:
        backward = [mini_batch[0]]
    kept = set(backward)
    return backward, [i for i in mini_batch if i not in kept]


def _forward(
    policy: Policy, rows: Rows, indices: Sequence[int], config: RunConfig, with_entropy: bool
) -> Iterator[MicroBatch]:
    size = MicroBatching(config.trainer.micro_batch_size, config.trainer.micro_batch_tokens)
    temperature = config.rollout.temperature
    return forward_micro_batches(policy, rows.encodings, rows.responses, indices, size, temperature, with_entropy)


def _logprobs_of_rows(policy: Policy, rows: Rows, indices: Sequence[int], config: RunConfig) -> dict[int, torch.Tensor]:
    """Per-row log-probs (L,) under the current weights, without gradient (π_old of a multi-mini-batch update)."""
    out: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for micro in _forward(policy, rows, indices, config, with_entropy=False):
            out.update(micro.unpadded(micro.stats.logprobs.cpu()))
    return out


def _padded(logprobs: dict[int, torch.Tensor | None], micro: MicroBatch) -> torch.Tensor:
    """(m, R) per-row log-probs of the micro-batch's rows, zero where a row has none (its loss mode reads none)."""
    mask = micro.mask
    out = torch.zeros_like(mask)
    for row, index in enumerate(micro.rows):
        values = logprobs.get(index)
        if values is not None:
            out[row, : values.shape[0]] = values.to(mask.device)
    return out


class _Diagnostics:
    """Sums over a step's micro-batches and mini-batches, turned into the update's metrics."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}

    def _add(self, key: str, value: float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + value

    def add(self, micro: MicroBatch, old: torch.Tensor, clipped: torch.Tensor | None = None) -> None:
        """One micro-batch's tokens, entropy, clipped tokens and approx-KL (old − new log-prob, on the mask)."""
        mask, stats = micro.mask, micro.stats
        assert stats.entropy is not None
        self._add("tokens", float(mask.sum()))
        self._add("train_tokens", float(micro.batch.attention_mask.sum()))
        self._add("entropy", float((stats.entropy.detach() * mask).sum()))
        if clipped is not None:
            self._add("clipped", float(clipped.float().sum()))
        self._add("approx_kl", float(((old - stats.logprobs.detach()) * mask).sum()))

    def add_step(self, loss: float, kl: float, grad_norm: float) -> None:
        self._add("loss", loss)
        self._add("kl", kl)
        self._add("grad_norm", grad_norm)

    def metrics(self, mini_batches: int) -> dict[str, float]:
        sums = self.sums
        tokens = max(sums.get("tokens", 0.0), 1.0)
        return {
            "policy/loss": sums["loss"] / mini_batches,
            "policy/entropy": sums["entropy"] / tokens,
            "policy/clip_frac": sums["clipped"] / tokens,
            "policy/approx_kl": sums["approx_kl"] / tokens,
            "policy/kl_to_ref": sums["kl"] / mini_batches,
            "policy/grad_norm": sums["grad_norm"] / mini_batches,
            "train/tokens": sums["train_tokens"],
        }


# ---- metrics -------------------------------------------------------------------------------------------------------
def rollout_metrics(
    groups: Sequence[Group], injections: Sequence[Injection], mixed: Sequence[Group], max_new_tokens: int
) -> dict[str, float]:
    """Statistics of the on-policy rollouts (before surgery) and of the guidance that went in (``mixed``: after)."""
    trajectories = [t for g in groups for t in g.trajectories]
    lengths = [t.length for t in trajectories]
    n_groups = max(len(groups), 1)
    total_rows = max(sum(len(m.trajectories) for m in mixed), 1)
    return {
        "reward/mean": sum(t.reward or 0.0 for t in trajectories) / max(len(trajectories), 1),
        "reward/pass_rate": sum(bool(t.correct) for t in trajectories) / max(len(trajectories), 1),
        "reward/all_zero_frac": sum(g.pass_rate == 0.0 for g in groups) / n_groups,
        "reward/all_one_frac": sum(g.pass_rate == 1.0 for g in groups) / n_groups,
        "response/length_mean": sum(lengths) / max(len(lengths), 1),
        "response/tokens": float(sum(lengths)),
        "response/truncated_frac": sum(length >= max_new_tokens for length in lengths) / max(len(lengths), 1),
        # one <think> then one <answer>: a falling value flags format drift (answer "revisions" growing to the cap)
        "response/well_formed_frac": sum(well_formed(t.text) for t in trajectories) / max(len(trajectories), 1),
        "guidance/injected_frac": len(injections) / total_rows,
        "guidance/groups_injected_frac": len({i.group_index for i in injections}) / n_groups,
    }


def step_phase(guided: bool, step: int, trained_through: int) -> StepPhase:
    """What kind of step ``step`` was: ``scout`` (a plain step a source trains ahead with), ``replay`` (a guided step
    whose number a guided step already had: trained again after a rollback) or ``train``. ``trained_through`` is the
    highest step number trained as a guided step before this one."""
    if not guided:
        return "scout"
    return "replay" if step <= trained_through else "train"


class Timer:
    """Accumulates wall time per phase: ``with timer("generate"): …``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str) -> _Phase:
        return _Phase(self, name)


class _Phase:
    def __init__(self, timer: Timer, name: str):
        self.timer, self.name = timer, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timer.seconds[self.name] = self.timer.seconds.get(self.name, 0.0) + time.perf_counter() - self.start
