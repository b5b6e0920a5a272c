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

    from npo_bench.grpo.losses import LossMode  # the loss modes live beside their losses (one home)

Slot = Literal["last", "append"]  # where an injected trajectory goes: the last rollout's slot, or a new one
StepPhase = Literal["train", "scout", "replay"]  # what kind of optimizer step a StepEnd reports


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
    """One response to one prompt, and — as a member of a group — its training role.

    The role travels with the trajectory, so it has one home: ``origin`` says where the response came from and
    ``loss_mode`` how the update trains it (the modes and their losses: :mod:`npo_bench.grpo.losses`). A mode that
    needs the behaviour policy's log-probs (``importance``, ``exgrpo``) reads ``logprobs``. Rollouts of the step are
    ``origin="policy"``, ``loss_mode="on_policy"``; a source that injects a trajectory sets its role with
    ``dataclasses.replace(trajectory, origin="replay", loss_mode="exgrpo")``.
    """

    prompt_id: str
    response_ids: torch.Tensor  # (L,) int64 sampled tokens, EOS included when it was emitted
    text: str  # decoded response (special tokens stripped)
    logprobs: torch.Tensor | None = None  # (L,) log-probs of the tokens under the policy that produced them, or None
    reward: float | None = None  # verifier score, filled by the verify phase
    correct: bool | None = None
    origin: str = "policy"  # "policy", "guide@step-40", "teacher", "replay", …
    loss_mode: LossMode = "on_policy"  # how the update trains this member (npo_bench.grpo.losses.LOSS_MODES)

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


@dataclass(frozen=True, eq=False, kw_only=True)
class Injection:
    """Group surgery asked for by a guidance source: put ``trajectory`` into the group at ``group_index``.

    ``slot="last"`` replaces the group's last rollout (NPO's n-th slot, LUFFY's teacher slot, ExGRPO's replay);
    ``slot="append"`` adds a member (RLEP: groups of n + M). How the update trains the member is the trajectory's own
    ``loss_mode``; the injection says only where it goes.
    """

    group_index: int  # position of the target group in the list ``guide`` received
    slot: Slot
    trajectory: Trajectory

    def __post_init__(self) -> None:
        if self.slot not in ("last", "append"):
            raise ValueError(f"injection slot must be 'last' or 'append', not {self.slot!r}")


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
    """One optimizer step finished. ``phase`` tells what kind: ``train`` (a step of the run's history, reported for
    the first time), ``scout`` (a step a source trains ahead with, undone by a rollback) or ``replay`` (a step
    number reported before, trained again after a rollback; it supersedes the earlier report)."""

    run_dir: Path
    step: int
    metrics: Mapping[str, float]
    phase: StepPhase = "train"


@dataclass(frozen=True)
class RunEnd:
    run_dir: Path
    metrics: Mapping[str, float]
    error: str | None = None
