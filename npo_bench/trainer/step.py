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

from npo_bench.config import RunConfig
from npo_bench.grpo.advantages import group_advantages
from npo_bench.grpo.groups import MixedGroup
from npo_bench.grpo.losses import LOSS_AGGREGATIONS, clipped_surrogate, k3_kl
from npo_bench.policy.batching import PromptEncoding, collate, encode_prompt
from npo_bench.policy.loading import Policy
from npo_bench.policy.logprobs import response_token_stats
from npo_bench.policy.sampling import sample
from npo_bench.types import Group, Prompt, Trajectory


# ---- generate ------------------------------------------------------------------------------------------------------
def generate(policy: Policy, prompts: Sequence[Prompt], config: RunConfig, source: str = "policy") -> list[Group]:
    """n on-policy rollouts per prompt at the training temperature."""
    r = config.rollout
    samples = sample(
        policy, prompts, r.n, r.temperature, r.top_p, r.max_new_tokens, config.task.prompt_template, source=source
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


def flatten(policy: Policy, groups: Sequence[MixedGroup], advantages: Sequence[torch.Tensor], template: str) -> Rows:
    encodings, responses, advs = [], [], []
    for mixed, adv in zip(groups, advantages, strict=True):
        encoding = encode_prompt(policy, mixed.group.prompt, template)
        for trajectory, a in zip(mixed.group.trajectories, adv, strict=True):
            if trajectory.length == 0:
                continue  # nothing to learn from an empty response
            encodings.append(encoding)
            responses.append(trajectory.response_ids)
            advs.append(float(a))
    return Rows(encodings, responses, torch.tensor(advs, dtype=torch.float32))


def update_policy(
    policy: Policy, optimizer: torch.optim.Optimizer, rows: Rows, config: RunConfig, ref_model: Any | None = None
) -> dict[str, float]:
    """Clipped-surrogate updates over ``trainer.mini_batches`` mini-batches; returns averaged diagnostics.

    With one mini-batch (the default) the update is exactly on-policy: π_old is the current policy, so the ratio is 1
    and π_old's log-probs are the detached log-probs of the same forward pass (no extra forward).
    """
    t = config.trainer
    policy.model.train()
    temperature = config.rollout.temperature
    order = list(range(len(rows.responses)))
    chunks = [order[i :: t.mini_batches] for i in range(t.mini_batches)] if t.mini_batches > 1 else [order]
    old_logprobs = None
    if t.mini_batches > 1:  # π_old must be fixed before the first update
        with torch.no_grad():
            full = collate(rows.encodings, rows.responses, policy.pad_id)
            old_logprobs = response_token_stats(policy, full, temperature).logprobs.cpu()
    aggregate = LOSS_AGGREGATIONS[t.loss_agg]
    totals: dict[str, float] = {}
    for chunk in chunks:
        if not chunk:
            continue
        batch = collate([rows.encodings[i] for i in chunk], [rows.responses[i] for i in chunk], policy.pad_id)
        mask = batch.response_mask.to(policy.device)  # (b, R)
        stats = response_token_stats(policy, batch, temperature, with_entropy=True)
        if old_logprobs is None:
            old = stats.logprobs.detach()
        else:
            old = old_logprobs[chunk, : mask.shape[1]].to(policy.device)
        advantages = rows.advantages[chunk].to(policy.device)  # (b,)
        terms = clipped_surrogate(stats.logprobs, old, advantages, mask, t.clip_eps_low, t.clip_eps_high)
        loss = aggregate(terms.token_loss, mask)
        kl_value = torch.zeros((), device=mask.device)
        if ref_model is not None and t.kl_coef > 0:
            with torch.no_grad():
                ref_logprobs = _ref_logprobs(policy, ref_model, batch, temperature)
            kl_value = aggregate(k3_kl(stats.logprobs, ref_logprobs, mask), mask)
            loss = loss + t.kl_coef * kl_value
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(policy.model.parameters(), t.grad_clip)
        optimizer.step()
        tokens = mask.sum().clamp(min=1.0)
        totals["train/tokens"] = totals.get("train/tokens", 0.0) + float(batch.attention_mask.sum())
        chunk_metrics = {
            "policy/loss": float(loss.detach()),
            "policy/entropy": float((stats.entropy.detach() * mask).sum() / tokens),
            "policy/clip_frac": float(terms.clipped.float().sum() / tokens),
            "policy/approx_kl": float(((old - stats.logprobs.detach()) * mask).sum() / tokens),
            "policy/kl_to_ref": float(kl_value.detach()),
            "policy/grad_norm": float(grad_norm),
        }
        for key, value in chunk_metrics.items():
            totals[key] = totals.get(key, 0.0) + value / len(chunks)
    policy.model.eval()
    return totals


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
