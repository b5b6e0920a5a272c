"""``last_success``: when a group fails entirely, replay the policy's own most recent correct answer to that prompt.

A deliberately small guidance source that shows the whole protocol: options, ``after_step`` memory,
``guide`` surgery, ``metrics`` and ``state_dict`` for checkpoints. It is the worked example of
``docs/writing-a-guidance-source.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from npo_bench import hookimpl
from npo_bench.guidance import TrainerControl, source_options
from npo_bench.options import Option
from npo_bench.state import trajectory_from_state, trajectory_state
from npo_bench.types import Group, Injection, Prompt, StepStats, Trajectory


class LastSuccess:
    """Replay the policy's own latest correct trajectory into the last slot of groups with p̂ = 0."""

    # checked (names, type, range) before a run directory exists; listed by `npo-bench sources`
    options = {"max_age": Option(50, "forget a success after this many steps", ge=1)}

    def setup(self, ctl: TrainerControl, options: Mapping[str, Any]) -> None:
        self.max_age = int(source_options("last_success", self.options, options)["max_age"])
        self.memory: dict[str, tuple[int, Trajectory]] = {}  # prompt id -> (step, trajectory)
        self.step = 0
        self.replayed = 0

    def before_step(self, ctl: TrainerControl) -> None:
        self.step = ctl.step

    def select_prompts(self, step: int, fresh: Sequence[Prompt]) -> list[Prompt]:
        return list(fresh)

    def guide(self, groups: Sequence[Group]) -> list[Injection]:
        injections = []
        for index, group in enumerate(groups):
            remembered = self.memory.get(group.prompt.id)
            if group.pass_rate == 0.0 and remembered and self.step - remembered[0] <= self.max_age:
                injections.append(Injection(group_index=index, slot="last", trajectory=remembered[1]))
        self.replayed = len(injections)
        return injections

    def metrics(self) -> dict[str, float]:
        return {"guidance/replayed_groups": float(self.replayed), "guidance/memory": float(len(self.memory))}

    def after_step(self, stats: StepStats) -> None:
        for group in stats.groups:
            success = next((t for t in reversed(group.trajectories) if t.correct), None)
            if success is not None:
                self.memory[group.prompt.id] = (stats.step, success)

    def state_dict(self) -> dict[str, Any]:
        """Plain data only (checkpoints are loaded with weights_only=True): trajectories go through trajectory_state."""
        memory = {pid: {"step": step, "trajectory": trajectory_state(t)} for pid, (step, t) in self.memory.items()}
        return {"memory": memory, "max_age": self.max_age}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.memory = {
            pid: (int(m["step"]), trajectory_from_state(m["trajectory"])) for pid, m in state["memory"].items()
        }
        self.max_age = int(state["max_age"])


@hookimpl
def npo_bench_register_sources(register):
    register("last_success", LastSuccess, description="replay the policy's own latest success on a failed prompt")
