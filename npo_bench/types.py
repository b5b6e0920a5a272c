"""The data that flows through one training step, and the events observers receive.

Shapes in comments: ``L`` = response length of one trajectory. All dataclasses are frozen; tensors inside them are
never modified in place (group surgery builds new groups).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch
    from PIL.Image import Image

LossMode = Literal["on_policy", "importance", "luffy", "exgrpo"]


@dataclass(frozen=True, eq=False)
class Prompt:
    """One task item. ``answer`` is the gold answer: verifiers read it, the policy and guides never do."""

    id: str
    question: str  # user text, without the image placeholder
    answer: str
    image: Image | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)  # family, level, split, source row…


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One response to one prompt."""

    prompt_id: str
    response_ids: torch.Tensor  # (L,) int64 sampled tokens, EOS included when it was emitted
    text: str  # decoded response (special tokens stripped)
    logprobs: torch.Tensor | None = None  # (L,) behaviour log-probs of the sampled tokens, or None if unknown
    reward: float | None = None  # verifier score, filled by the verify phase
    correct: bool | None = None
    source: str = "policy"  # "policy", "guide@step-40", "teacher", "replay@step-12", …

    @property
    def length(self) -> int:
        return int(self.response_ids.shape[0])


@dataclass(frozen=True, eq=False)
class Group:
    """The n trajectories of one prompt in one step; advantages are computed within a group."""

    prompt: Prompt
    trajectories: tuple[Trajectory, ...]

    @property
    def rewards(self) -> list[float]:
        return [t.reward if t.reward is not None else 0.0 for t in self.trajectories]

    @property
    def pass_rate(self) -> float:
        """p̂: the fraction of verified-correct trajectories."""
        return sum(bool(t.correct) for t in self.trajectories) / max(len(self.trajectories), 1)


@dataclass(frozen=True, eq=False)
class Injection:
    """Group surgery asked for by a guidance source: put ``trajectory`` into group ``group``.

    ``slot`` is an index to replace (NPO replaces the n-th slot, ``n - 1``) or ``"append"`` (RLEP).
    ``behaviour_logprobs`` (L,) are the guide's own log-probs, needed by ``importance`` and ``exgrpo`` loss modes.
    """

    group: int
    slot: int | Literal["append"]
    trajectory: Trajectory
    behaviour_logprobs: torch.Tensor | None = None
    loss_mode: LossMode = "on_policy"


@dataclass(frozen=True)
class CheckpointRef:
    """A saved training state (weights, optimizer, RNG, data cursor, source state)."""

    step: int
    tag: str
    path: Path


@dataclass(frozen=True)
class StepStats:
    """What one optimizer step produced; sources observe it in ``after_step``.

    ``groups`` are the verified *on-policy* groups, before any guidance surgery (so p̂ is the policy's own).
    """

    step: int
    metrics: Mapping[str, float]
    groups: tuple[Group, ...] = ()


# ---- lifecycle events (one frozen object per hook call; do not mutate) ---------------------------------------------


@dataclass(frozen=True)
class RunStart:
    run_dir: Path
    config: Mapping[str, Any]  # the resolved config as plain data
    start_step: int  # 0 for a new run, the checkpoint step when resuming
    resumed: bool


@dataclass(frozen=True)
class StepEnd:
    run_dir: Path
    step: int
    metrics: Mapping[str, float]


@dataclass(frozen=True)
class RunEnd:
    run_dir: Path
    metrics: Mapping[str, float]
    error: str | None = None
