"""Group surgery: put guidance trajectories into groups before advantages are computed.

An ``Injection`` either replaces one slot (NPO replaces the n-th, i.e. last, slot: ``slot = n − 1``) or appends
(RLEP). The pass rate p̂ a source gates on is computed by the source from the on-policy group *before* surgery;
advantages are computed afterwards over the mixed group (NPO §3.3; EasyVideoR1 ``_make_batch_data``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from npo_bench.errors import UserError
from npo_bench.grpo.losses import LOSS_MODES
from npo_bench.types import Group, Injection, LossMode, Trajectory


@dataclass(frozen=True, eq=False)
class MixedGroup:
    """A group after surgery, with the loss mode and behaviour log-probs of every member."""

    group: Group
    loss_modes: tuple[LossMode, ...]  # one per trajectory
    behaviour_logprobs: tuple[torch.Tensor | None, ...]  # (L,) per trajectory, None = recompute (on-policy)

    @property
    def injected(self) -> int:
        return sum(t.source != "policy" for t in self.group.trajectories)


def apply_injections(groups: Sequence[Group], injections: Sequence[Injection]) -> list[MixedGroup]:
    """New groups with the injections applied; the input groups are left untouched."""
    members = [list(g.trajectories) for g in groups]
    modes: list[list[LossMode]] = [["on_policy"] * len(g.trajectories) for g in groups]
    behaviour: list[list[torch.Tensor | None]] = [[None] * len(g.trajectories) for g in groups]
    replaced: set[tuple[int, int]] = set()
    for inj in injections:
        if not 0 <= inj.group < len(groups):
            raise ValueError(f"injection targets group {inj.group}, but the step has {len(groups)} groups")
        prompt_id = groups[inj.group].prompt.id
        if inj.trajectory.prompt_id != prompt_id:
            raise UserError(
                f"injection into group {inj.group} carries a trajectory for prompt {inj.trajectory.prompt_id!r}, "
                f"not {prompt_id!r}"
            )
        _check_behaviour(inj.trajectory, inj.behaviour_logprobs, inj.loss_mode)
        if inj.slot == "append":
            members[inj.group].append(inj.trajectory)
            modes[inj.group].append(inj.loss_mode)
            behaviour[inj.group].append(inj.behaviour_logprobs)
            continue
        if not 0 <= inj.slot < len(groups[inj.group].trajectories):
            raise ValueError(f"injection slot {inj.slot} outside group {inj.group} of size {len(members[inj.group])}")
        if (inj.group, inj.slot) in replaced:
            raise ValueError(f"two injections replace slot {inj.slot} of group {inj.group}")
        replaced.add((inj.group, inj.slot))
        members[inj.group][inj.slot] = inj.trajectory
        modes[inj.group][inj.slot] = inj.loss_mode
        behaviour[inj.group][inj.slot] = inj.behaviour_logprobs
    return [
        MixedGroup(Group(g.prompt, tuple(m)), tuple(md), tuple(b))
        for g, m, md, b in zip(groups, members, modes, behaviour, strict=True)
    ]


def _check_behaviour(trajectory: Trajectory, logprobs: torch.Tensor | None, mode: LossMode) -> None:
    if mode not in LOSS_MODES:
        raise ValueError(f"unknown loss mode {mode!r} (known: {', '.join(LOSS_MODES)})")
    if mode in ("importance", "exgrpo") and logprobs is None:
        raise ValueError(f"loss mode {mode!r} needs behaviour log-probs for trajectory of {trajectory.prompt_id}")
    if logprobs is not None and logprobs.shape != trajectory.response_ids.shape:
        raise ValueError(
            f"behaviour log-probs {tuple(logprobs.shape)} do not match response {tuple(trajectory.response_ids.shape)}"
        )
