"""The one module of the ``openrlhf`` backend that touches npo-bench's core data types.

Everything else in the plugin speaks in OpenRLHF rows (``Experience``) and in the small plugin-local records below
(``Member``, ``GuidedGroup``); this adapter converts between them and calls the core's group surgery, advantage
estimators, reward function and step metrics — the very functions the embedded backend calls — so both backends
compute the same numbers. A member's training role (``Trajectory.origin``, ``Trajectory.loss_mode``, its recorded
log-probs) comes from the core's trajectory; when the core's types change, this file is the one to adapt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from npo_bench.grpo.advantages import group_advantages
from npo_bench.grpo.groups import apply_injections
from npo_bench.grpo.losses import LOSS_MODES, behaviour_logprobs
from npo_bench.trainer.step import rollout_metrics, score_trajectory, step_phase
from npo_bench.types import Group, Injection, Prompt, StepPhase, StepStats, Trajectory

# Loss modes travel through OpenRLHF's Experience as one integer code per row (info tensors survive the
# replay buffer's split and merge; strings would not). The registry's order is the code.
LOSS_MODE_CODES: dict[str, int] = {mode: code for code, mode in enumerate(LOSS_MODES)}
LOSS_MODE_NAMES: dict[int, str] = {code: mode for mode, code in LOSS_MODE_CODES.items()}


@dataclass(frozen=True, eq=False)
class Member:
    """One row of a group after surgery: what to train on and how (the trajectory's own role)."""

    trajectory: Trajectory

    @property
    def loss_mode(self) -> str:
        return self.trajectory.loss_mode

    @property
    def behaviour_logprobs(self) -> torch.Tensor | None:
        """(L,) the recorded log-probs where the member's loss mode reads them (importance / exgrpo), else None."""
        return behaviour_logprobs(self.trajectory)

    @property
    def injected(self) -> bool:
        return self.trajectory.origin != "policy"


@dataclass(frozen=True, eq=False)
class GuidedGroup:
    """A prompt's group after the source's surgery (n members, or n + M after RLEP's append)."""

    prompt: Prompt
    members: tuple[Member, ...]
    core: Group  # the core's mixed group, for metrics shared with the embedded backend

    @property
    def rewards(self) -> list[float]:
        return self.core.group.rewards


def rollout_trajectory(
    prompt: Prompt, response_ids: torch.Tensor, text: str, reward: float, correct: bool
) -> Trajectory:
    """A verified on-policy rollout as the core's ``Trajectory`` (log-probs are filled later, see ``with_logprobs``)."""
    return Trajectory(
        prompt_id=prompt.id, response_ids=response_ids.long(), text=text, reward=float(reward), correct=bool(correct)
    )


def with_logprobs(trajectory: Trajectory, logprobs: torch.Tensor, origin: str | None = None) -> Trajectory:
    """The trajectory with the log-probs (L,) of the policy that produced it (and, for a sample of a checkpoint,
    its origin tag)."""
    return dataclasses.replace(trajectory, logprobs=logprobs, origin=origin or trajectory.origin)


def make_group(prompt: Prompt, trajectories: Sequence[Trajectory]) -> Group:
    return Group(prompt, tuple(trajectories))


def guide(groups: Sequence[Group], injections: Sequence[Injection]) -> list[GuidedGroup]:
    """The core's group surgery (slot replacement or append), re-expressed as members."""
    mixed = apply_injections(groups, injections)
    return [GuidedGroup(m.prompt, tuple(Member(t) for t in m.trajectories), m) for m in mixed]


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


def step_metrics(
    groups: Sequence[Group], injections: Sequence[Injection], guided: Sequence[GuidedGroup], max_new_tokens: int
) -> dict[str, float]:
    """The embedded backend's rollout metrics (same names in metrics.jsonl)."""
    return rollout_metrics(groups, injections, [g.core for g in guided], max_new_tokens)


def phase_of(guided: bool, step: int, trained_through: int) -> StepPhase:
    """train | scout | replay, as the embedded backend tells its observers."""
    return step_phase(guided, step, trained_through)


def step_stats(step: int, metrics: Mapping[str, float], groups: Sequence[Group]) -> StepStats:
    return StepStats(step=step, metrics=dict(metrics), groups=tuple(groups))


def external_trajectory(prompt: Prompt, token_ids: Sequence[int], text: str, origin: str) -> Trajectory:
    """An external response (a teacher's), not yet verified, without log-probs."""
    return Trajectory(
        prompt_id=prompt.id, response_ids=torch.tensor(list(token_ids), dtype=torch.long), text=text, origin=origin
    )
