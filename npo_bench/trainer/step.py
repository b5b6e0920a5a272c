"""One GRPO step, phase by phase — the algorithm as code:

    generate (n per prompt) → verify (reward per trajectory) → guide (source: group surgery)
    → advantages (group-relative) → update (clipped surrogate, per mini-batch) → metrics

Each phase is a function of plain data; the backend wires them together and owns the state.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from npo_bench.config import RunConfig, TrainerConfig
from npo_bench.grpo.advantages import group_advantages
from npo_bench.grpo.groups import MixedGroup
from npo_bench.grpo.losses import LOSS_AGGREGATIONS, LossInputs, LossSettings, k3_kl, mixed_loss
from npo_bench.policy.batching import Encode, PromptEncoding, collate, encode_prompt
from npo_bench.policy.loading import Policy
from npo_bench.policy.logprobs import response_token_stats
from npo_bench.policy.sampling import sample
from npo_bench.types import Group, Prompt, Trajectory
from npo_bench.verify.format import well_formed


# ---- generate ------------------------------------------------------------------------------------------------------
def generate(
    policy: Policy, prompts: Sequence[Prompt], config: RunConfig, source: str = "policy", encode: Encode | None = None
) -> list[Group]:
    """n on-policy rollouts per prompt at the training temperature."""
    r = config.rollout
    template = config.task.prompt_template
    samples = sample(
        policy, prompts, r.n, r.temperature, r.top_p, r.max_new_tokens, template, source=source, encode=encode
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
    verdict = benchmark.score(prompt, trajectory.text)
    reward = float(verdict.score)
    if format_weight:
        from npo_bench.verify import verify

        fmt = verify(trajectory.text, "", verifier="format")
        reward = (1.0 - format_weight) * reward + format_weight * float(fmt.score)
    return dataclasses.replace(trajectory, reward=reward, correct=bool(verdict.correct))


# ---- advantages ----------------------------------------------------------------------------------------------------
def compute_advantages(groups: Sequence[MixedGroup], config: RunConfig) -> list[torch.Tensor]:
    """Group-relative advantages over each *mixed* group (after guidance surgery)."""
    rewards = [torch.tensor(m.group.rewards, dtype=torch.float32) for m in groups]  # each (n,) or (n+M,)
    return group_advantages(rewards, config.trainer.advantage, config.trainer.adv_eps)


# ---- update --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Rows:
    """The flattened training rows of one step (one per trajectory)."""

    encodings: list[PromptEncoding]
    responses: list[torch.Tensor]  # each (L,)
    advantages: torch.Tensor  # (B,)
    modes: list[str] = dataclasses.field(default_factory=list)  # loss mode per row; empty = all on_policy
    behaviour: list[torch.Tensor | None] = dataclasses.field(default_factory=list)  # (L,) recorded log-probs

    def mode(self, i: int) -> str:
        return self.modes[i] if self.modes else "on_policy"


def flatten(
    policy: Policy,
    groups: Sequence[MixedGroup],
    advantages: Sequence[torch.Tensor],
    template: str,
    encode: Encode | None = None,
) -> Rows:
    encodings, responses, advs, modes, behaviour = [], [], [], [], []
    for mixed, adv in zip(groups, advantages, strict=True):
        prompt = mixed.group.prompt
        encoding = encode(prompt) if encode is not None else encode_prompt(policy, prompt, template)
        members = zip(mixed.group.trajectories, adv, mixed.loss_modes, mixed.behaviour_logprobs, strict=True)
        for trajectory, a, mode, logprobs in members:
            if trajectory.length == 0:
                continue  # nothing to learn from an empty response
            encodings.append(encoding)
            responses.append(trajectory.response_ids)
            advs.append(float(a))
            modes.append(mode)
            behaviour.append(logprobs)
    return Rows(encodings, responses, torch.tensor(advs, dtype=torch.float32), modes, behaviour)


def update_policy(
    policy: Policy, optimizer: torch.optim.Optimizer, rows: Rows, config: RunConfig, ref_model: Any | None = None
) -> dict[str, float]:
    """Clipped-surrogate updates over ``trainer.mini_batches`` mini-batches; returns diagnostics.

    With one mini-batch (the default) the update is exactly on-policy: π_old is the current policy, so the ratio is 1
    and π_old's log-probs are the detached log-probs of the same forward pass (no extra forward). Each mini-batch
    runs as length-sorted micro-batches of at most ``trainer.micro_batch_size`` sequences and
    ``trainer.micro_batch_tokens`` padded response tokens (less padding, bounded memory) whose gradients add up to
    exactly the mini-batch loss. Rows with advantage 0 skip the backward pass (``trainer.skip_zero_advantage``;
    their gradient is 0) and are measured without gradient.
    """
    t = config.trainer
    temperature = config.rollout.temperature
    order = list(range(len(rows.responses)))
    chunks = [order[i :: t.mini_batches] for i in range(t.mini_batches)] if t.mini_batches > 1 else [order]
    old_logprobs = None
    if t.mini_batches > 1:  # π_old must be fixed before the first update
        old_logprobs = _logprobs_of_rows(policy, rows, order, temperature, t)
    policy.model.train()
    sums: dict[str, float] = {}
    for chunk in chunks:
        if chunk:
            _update_on(policy, optimizer, rows, chunk, config, ref_model, old_logprobs, sums)
    policy.model.eval()
    tokens = max(sums.pop("tokens"), 1.0)
    return {
        "policy/loss": sums["loss"] / len(chunks),
        "policy/entropy": sums["entropy"] / tokens,
        "policy/clip_frac": sums["clipped"] / tokens,
        "policy/approx_kl": sums["approx_kl"] / tokens,
        "policy/kl_to_ref": sums["kl"] / len(chunks),
        "policy/grad_norm": sums["grad_norm"] / len(chunks),
        "train/tokens": sums["train_tokens"],
    }


def length_buckets(lengths: Sequence[int], indices: Sequence[int], max_rows: int, max_tokens: int) -> list[list[int]]:
    """``indices`` sorted by ``lengths[i]`` and cut, in that order, into micro-batches of at most ``max_rows`` rows
    and at most ``max_tokens`` padded response tokens (rows × longest response; 0 = no token cap). A row longer than
    the cap gets a micro-batch of its own. Short on-policy rows fill whole micro-batches; a few long guide traces
    (LUFFY's teacher) no longer pad a full micro-batch to their length."""
    ordered = sorted(indices, key=lambda i: (lengths[i], i))
    max_rows = max(max_rows, 1)
    buckets: list[list[int]] = []
    for i in ordered:  # ascending length: the row being added is the bucket's longest
        current = buckets[-1] if buckets else None
        fits = current is not None and len(current) < max_rows
        if fits and max_tokens > 0:
            fits = (len(current) + 1) * lengths[i] <= max_tokens
        if fits:
            current.append(i)
        else:
            buckets.append([i])
    return buckets


def _micro_batches(rows: Rows, indices: Sequence[int], trainer: TrainerConfig) -> list[list[int]]:
    lengths = [int(r.shape[0]) for r in rows.responses]
    return length_buckets(lengths, indices, trainer.micro_batch_size, trainer.micro_batch_tokens)


def _logprobs_of_rows(
    policy: Policy, rows: Rows, indices: Sequence[int], temperature: float, trainer: TrainerConfig
) -> dict[int, torch.Tensor]:
    """Per-row log-probs (L,) under the current weights, without gradient."""
    out: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for micro in _micro_batches(rows, indices, trainer):
            batch = collate([rows.encodings[i] for i in micro], [rows.responses[i] for i in micro], policy.pad_id)
            logprobs = response_token_stats(policy, batch, temperature).logprobs.cpu()
            for row, i in enumerate(micro):
                out[i] = logprobs[row, : rows.responses[i].shape[0]]
    return out


def _update_on(
    policy: Policy,
    optimizer: torch.optim.Optimizer,
    rows: Rows,
    chunk: Sequence[int],
    config: RunConfig,
    ref_model: Any | None,
    old_logprobs: dict[int, torch.Tensor] | None,
    sums: dict[str, float],
) -> None:
    """One optimizer step on the rows ``chunk`` (accumulated over micro-batches)."""
    t = config.trainer
    aggregation = LOSS_AGGREGATIONS[t.loss_agg]
    settings = LossSettings(t.clip_eps_low, t.clip_eps_high, t.is_cap, t.shaping_gamma)
    lengths = torch.tensor([float(rows.responses[i].shape[0]) for i in chunk])
    full_mask = (torch.arange(int(lengths.max())) < lengths.unsqueeze(-1)).float()  # (b, R) of the mini-batch
    denominator = aggregation.denominator(full_mask).clamp(min=1.0)
    optimizer.zero_grad(set_to_none=True)
    loss_total = kl_total = 0.0
    with_kl = ref_model is not None and t.kl_coef > 0
    backward_rows, measured_rows = _split_zero_advantage(rows, chunk, t.skip_zero_advantage and not with_kl)
    for micro in _micro_batches(rows, backward_rows, t):
        batch = collate([rows.encodings[i] for i in micro], [rows.responses[i] for i in micro], policy.pad_id)
        mask = batch.response_mask.to(policy.device)  # (m, R)
        stats = response_token_stats(policy, batch, config.rollout.temperature, with_entropy=True)
        old = stats.logprobs.detach() if old_logprobs is None else _padded([old_logprobs[i] for i in micro], mask)
        inputs = LossInputs(
            logprobs=stats.logprobs,
            old_logprobs=old,
            behaviour_logprobs=_padded([rows.behaviour[i] if rows.behaviour else None for i in micro], mask),
            advantages=rows.advantages[micro].to(policy.device),  # (m,)
            mask=mask,
        )
        terms = mixed_loss(inputs, [rows.mode(i) for i in micro], settings)
        loss = aggregation.numerator(terms.token_loss, mask) / denominator
        if with_kl:
            with torch.no_grad():
                ref_logprobs = _ref_logprobs(policy, ref_model, batch, config.rollout.temperature)
            kl = aggregation.numerator(k3_kl(stats.logprobs, ref_logprobs, mask), mask) / denominator
            loss = loss + t.kl_coef * kl
            kl_total += float(kl.detach())
        loss.backward()
        loss_total += float(loss.detach())
        _add(sums, "tokens", float(mask.sum()))
        _add(sums, "train_tokens", float(batch.attention_mask.sum()))
        _add(sums, "entropy", float((stats.entropy.detach() * mask).sum()))
        _add(sums, "clipped", float(terms.clipped.float().sum()))
        _add(sums, "approx_kl", float(((old - stats.logprobs.detach()) * mask).sum()))
    _measure_without_gradient(policy, rows, measured_rows, old_logprobs, config, sums)
    grad_norm = torch.nn.utils.clip_grad_norm_(policy.model.parameters(), t.grad_clip)
    optimizer.step()
    _add(sums, "loss", loss_total)
    _add(sums, "kl", kl_total)
    _add(sums, "grad_norm", float(grad_norm))


def _split_zero_advantage(rows: Rows, chunk: Sequence[int], skip: bool) -> tuple[list[int], list[int]]:
    """(rows that need a backward pass, rows that are only measured).

    Every loss mode is linear in the advantage (−min(ρÂ, clip(ρ)Â), −f(p)Â, …), so a row with Â = 0 — every row
    of an all-0 or all-1 group under GRPO — has zero loss and zero gradient, and is never clipped. Skipping its
    backward pass changes nothing but the floating-point summation order (the loss denominator still counts its
    tokens). Not with a KL penalty, whose gradient does not vanish. At least one row keeps the backward pass, so
    that parameters get (zero) gradients and the optimizer steps exactly as before."""
    if not skip:
        return list(chunk), []
    backward = [i for i in chunk if float(rows.advantages[i]) != 0.0]
    if not backward and chunk:
        backward = [chunk[0]]
    kept = set(backward)
    return backward, [i for i in chunk if i not in kept]


def _measure_without_gradient(
    policy: Policy,
    rows: Rows,
    indices: Sequence[int],
    old_logprobs: dict[int, torch.Tensor] | None,
    config: RunConfig,
    sums: dict[str, float],
) -> None:
    """Entropy and approx-KL of the zero-advantage rows (a forward pass without gradient), so that the step's
    diagnostics — AutoNPO's entropy trigger among them — still cover every response token."""
    if not indices:
        return
    with torch.no_grad():
        for micro in _micro_batches(rows, indices, config.trainer):
            batch = collate([rows.encodings[i] for i in micro], [rows.responses[i] for i in micro], policy.pad_id)
            mask = batch.response_mask.to(policy.device)  # (m, R)
            stats = response_token_stats(policy, batch, config.rollout.temperature, with_entropy=True)
            old = stats.logprobs if old_logprobs is None else _padded([old_logprobs[i] for i in micro], mask)
            _add(sums, "tokens", float(mask.sum()))
            _add(sums, "train_tokens", float(batch.attention_mask.sum()))
            _add(sums, "entropy", float((stats.entropy * mask).sum()))
            _add(sums, "approx_kl", float(((old - stats.logprobs) * mask).sum()))


def _padded(logprobs: Sequence[torch.Tensor | None], mask: torch.Tensor) -> torch.Tensor:
    """(m, R) recorded log-probs, zero where a row has none (its loss mode does not read them)."""
    out = torch.zeros_like(mask)
    for row, values in enumerate(logprobs):
        if values is not None:
            out[row, : values.shape[0]] = values.to(mask.device)
    return out


def _add(sums: dict[str, float], key: str, value: float) -> None:
    sums[key] = sums.get(key, 0.0) + value


def _ref_logprobs(policy: Policy, ref_model: Any, batch: Any, temperature: float) -> torch.Tensor:
    reference = dataclasses.replace(policy, model=ref_model)
    return response_token_stats(reference, batch, temperature).logprobs


# ---- metrics -------------------------------------------------------------------------------------------------------
def rollout_metrics(groups: Sequence[Group], mixed: Sequence[MixedGroup], max_new_tokens: int) -> dict[str, float]:
    """Statistics of the on-policy rollouts (before surgery) and of the guidance that went in."""
    trajectories = [t for g in groups for t in g.trajectories]
    lengths = [t.length for t in trajectories]
    n_groups = max(len(groups), 1)
    total_rows = max(sum(len(m.group.trajectories) for m in mixed), 1)
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
        "guidance/injected_frac": sum(m.injected for m in mixed) / total_rows,
        "guidance/groups_injected_frac": sum(m.injected > 0 for m in mixed) / n_groups,
    }


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
