"""Group surgery: put guidance trajectories into groups before advantages are computed.

An ``Injection`` either replaces the last slot (NPO replaces the n-th, i.e. last, rollout) or appends (RLEP). The
pass rate p̂ a source gates on is computed by the source from the on-policy group *before* surgery; advantages are
computed afterwards over the mixed group (NPO §3.3; EasyVideoR1 ``_make_batch_data``). Each member carries its own
training role (``Trajectory.origin``, ``Trajectory.loss_mode``), so a mixed group is a plain ``Group``.
"""

from __future__ import annotations

from collections.abc import Sequence

from npo_bench.errors import UserError
from npo_bench.grpo.losses import check_member
from npo_bench.types import Group, Injection


def apply_injections(groups: Sequence[Group], injections: Sequence[Injection]) -> list[Group]:
    """New groups with the injections applied; the input groups are left untouched."""
    members = [list(g.trajectories) for g in groups]
    replaced: set[int] = set()
    for injection in injections:
        index = injection.group_index
        if not 0 <= index < len(groups):
            raise ValueError(f"injection targets group {index}, but the step has {len(groups)} groups")
        group = groups[index]
        if injection.trajectory.prompt_id != group.prompt.id:
            raise UserError(
                f"injection into group {index} carries a trajectory for prompt {injection.trajectory.prompt_id!r}, "
                f"not {group.prompt.id!r}"
            )
        check_member(injection.trajectory)
        if injection.slot == "append":
            members[index].append(injection.trajectory)
            continue
        if not group.trajectories:
            raise ValueError(f"injection replaces the last slot of group {index}, which is empty")
        if index in replaced:
            raise ValueError(f"two injections replace the last slot of group {index}")
        replaced.add(index)
        members[index][len(group.trajectories) - 1] = injection.trajectory
    return [Group(g.prompt, tuple(m)) for g, m in zip(groups, members, strict=True)]
