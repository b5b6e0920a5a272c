"""The one module of the ``openrlhf`` backend that touches npo-bench's core data types.

Everything else in the plugin speaks in OpenRLHF rows (``Experience``) and in the small plugin-local records below
(``Member``, ``GuidedGroup``); this adapter converts between them and calls the core's group surgery, advantage
estimators, reward function and step metrics — the very functions the embedded backend calls — so both backends
compute the same numbers. When the core's types change (``Injection`` with a named slot, a member's loss mode on the
member), this file is the one to adapt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from npo_bench.grpo.advantages import group_advantages
from npo_bench.grpo.groups import MixedGroup, apply_injections
from npo_bench.grpo.losses import LOSS_MODES
from npo_bench.trainer.step import rollout_metrics, score_trajectory
from npo_bench.types import Group, Injection, Prompt, StepStats, Trajectory

# Loss modes travel through OpenRLHF's Experience as one integer code per row (info tensors survive the
# replay buffer's split and merge; strings would not). The registry's order is the code.
LOSS_MODE_CODES: dict[str, int] = {mode: code for code, mode in enumerate(LOSS_MODES)}
LOSS_MODE_NAMES: dict[int, str] = {code: mode for mode, code in LOSS_MODE_CODES.items()}


@dataclass(frozen=True, eq=False)
class Member:
    """One row of a group after surgery: what to train on and how."""

    trajectory: Trajectory
    loss_mode: str
    behaviour_logprobs: torch.Tensor | None  # (L,) recorded log-probs (importance / exgrpo), else None

    @property
    def injected(self) -> bool:
        return self.trajectory.source != "policy"


@dataclass(frozen=True, eq=False)
class GuidedGroup:
    """A prompt's group after the source's surgery (n members, or n + M after RLEP's append)."""

    prompt: Prompt
    members: tuple[Member, ...]
    core: MixedGroup  # the core's view, for metrics shared with the embedded backend

    @property
    def rewards(self) -> list[float]:
        return self.core.group.rewards


def rollout_trajectory(
    prompt: Prompt, response_ids: torch.Tensor, text: str, reward: float, correct: bool, source: str = "policy"
) -> Trajectory:
    """A verified rollout as the core's ``Trajectory`` (behaviour log-probs are filled later, see ``with_logprobs``)."""
    return Trajectory(prompt.id, response_ids.long(), text, None, float(reward), bool(correct), source)


def with_logprobs(trajectory: Trajectory, logprobs: torch.Tensor, source: str | None = None) -> Trajectory:
    """The trajectory with its behaviour log-probs (L,) (and, for a harvest from a checkpoint, its source tag)."""
    return dataclasses.replace(trajectory, logprobs=logprobs, source=source or trajectory.source)


def make_group(prompt: Prompt, trajectories: Sequence[Trajectory]) -> Group:
    return Group(prompt, tuple(trajectories))


def guide(groups: Sequence[Group], injections: Sequence[Injection]) -> list[GuidedGroup]:
    """The core's group surgery (slot replacement or append), re-expressed as members."""
    mixed = apply_injections(groups, injections)
    return [
        GuidedGroup(
            m.group.prompt,
            tuple(
                Member(t, mode, logprobs)
                for t, mode, logprobs in zip(m.group.trajectories, m.loss_modes, m.behaviour_logprobs, strict=True)
            ),
            m,
        )
        for m in mixed
    ]


def unguided(groups: Sequence[Group]) -> list[GuidedGroup]:
    return guide(groups, [])


def advantages(groups: Sequence[GuidedGroup], estimator: str, eps: float) -> list[torch.Tensor]:
    """Each group's advantages with the embedded backend's estimator (uniform groups get exactly 0; an appended
    group of n + M gets its own baseline over all n + M members)."""
    rewards = [torch.tensor(g.rewards, dtype=torch.float32) for g in groups]  # each (n,) or (n+M,)
    return group_advantages(rewards, estimator, eps)


def verify(trajectory: Trajectory, prompt: Prompt, benchmark: Any, format_weight: float) -> Trajectory:
    """The embedded backend's reward: r = (1 − w)·score + w·format, with the benchmark's scorer."""
    return score_trajectory(trajectory, prompt, benchmark, format_weight)


def step_metrics(groups: Sequence[Group], guided: Sequence[GuidedGroup], max_new_tokens: int) -> dict[str, float]:
    """The embedded backend's rollout metrics (same names in metrics.jsonl)."""
    return rollout_metrics(groups, [g.core for g in guided], max_new_tokens)


def step_stats(step: int, metrics: Mapping[str, float], groups: Sequence[Group]) -> StepStats:
    return StepStats(step=step, metrics=dict(metrics), groups=tuple(groups))


def external_trajectory(prompt: Prompt, token_ids: Sequence[int], text: str, source: str) -> Trajectory:
    """An external response (a teacher's), not yet verified, without log-probs."""
    return Trajectory(prompt.id, torch.tensor(list(token_ids), dtype=torch.long), text, None, source=source)
