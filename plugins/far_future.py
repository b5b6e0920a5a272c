"""The ``far_future`` guidance source: RLEP (Zhang et al., arXiv 2507.07451; npo-paper.md §6.3).

Experience from a *finished earlier run* of the same setup: its final checkpoint decodes several trajectories per
problem and keeps the verified ones (phase 1); training restarts from the base (phase 2) and every step appends
M = 2 successful trajectories from that pool to each group (``experience_replay_num=2``), so groups have n + M
members and advantages are computed over the enlarged group. No behaviour-policy correction: old log-probs are
recomputed by the current policy (``on_policy`` loss with the clipped surrogate). In NPO's framing this is far-future
guidance: high Q̂ (the finished model solves much more) but high V̂ (it is far from the current policy).

Choices stated here: the pool is harvested lazily, the first time a prompt appears (the finished model is fixed, so
the pool is the same as harvesting everything up front, at the cost of only the prompts a run actually sees);
``harvest_k = 8`` samples per prompt at the training temperature; the M replays of a step are drawn without
replacement from the prompt's pool with an RNG seeded by (seed, step, prompt), so rollbacks and resumes replay them
exactly; a prompt the finished model never solved gets no replay.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from npo_bench import UserError, hookimpl
from npo_bench.guidance import TrainerControl, resolve_model_checkpoint, source_options
from npo_bench.options import Option
from npo_bench.state import trajectory_from_state, trajectory_state
from npo_bench.types import CheckpointRef, Group, Injection, Prompt, StepStats, Trajectory

OPTIONS: dict[str, Option] = {
    "run": Option(
        None,
        "the finished earlier run (run directory, checkpoint or model directory) whose final policy guides",
        kind=str,
    ),
    "replay_m": Option(2, "successful trajectories appended to every group (RLEP: experience_replay_num = 2)", ge=1),
    "harvest_k": Option(8, "samples per prompt the finished policy decodes when building its pool", ge=1),
    "seed": Option(0, "seed of the per-step replay draw"),
}


class FarFutureReplaySource:
    """RLEP: append M verified trajectories of a finished run's final policy to every group."""

    options = OPTIONS

    @staticmethod
    def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
        """The options with defaults filled in; a clear error for anything unusable (called before any work)."""
        opts = source_options("far_future", OPTIONS, options)
        if not opts["run"]:
            raise UserError(
                "source 'far_future' needs source.options.run: a finished run of the same setup",
                hint="`npo-bench run --method grpo --name done`, then `--set source.options.run=runs/done`",
            )
        resolve_model_checkpoint(Path(str(opts["run"])), tag="far-future")
        return opts

    def setup(self, ctl: TrainerControl, options: Mapping[str, Any]) -> None:
        self.opts = self.validate_options(options)
        self.ctl = ctl
        self.finished: CheckpointRef = resolve_model_checkpoint(Path(str(self.opts["run"])), tag="far-future")
        self.pool: dict[str, list[Trajectory]] = {}
        self.step = 0
        self.last: dict[str, float] = {}

    def before_step(self, ctl: TrainerControl) -> None:
        """Harvest the finished policy's successes on the coming step's prompts (those not harvested before)."""
        self.ctl = ctl
        self.step = ctl.step + 1
        self._harvest(ctl.prompts_between(ctl.step, ctl.step + 1))

    def select_prompts(self, step: int, fresh: Sequence[Prompt]) -> list[Prompt]:
        return list(fresh)

    def _harvest(self, prompts: Sequence[Prompt]) -> None:
        new = [p for p in prompts if p.id not in self.pool]
        if not new:
            return
        for prompt, group in zip(new, self.ctl.sample(new, int(self.opts["harvest_k"]), self.finished), strict=True):
            distinct: dict[str, Trajectory] = {}
            for trajectory in group:
                if trajectory.correct:
                    distinct.setdefault(trajectory.text, trajectory)
            self.pool[prompt.id] = list(distinct.values())

    def guide(self, groups: Sequence[Group]) -> list[Injection]:
        """Append M pool trajectories to each group (fewer if the finished policy solved the prompt fewer times)."""
        self._harvest([g.prompt for g in groups])
        m = int(self.opts["replay_m"])
        injections: list[Injection] = []
        for index, group in enumerate(groups):
            pool = self.pool[group.prompt.id]
            rng = random.Random(f"{self.opts['seed']}:rlep:{self.step}:{group.prompt.id}")
            for trajectory in rng.sample(pool, min(m, len(pool))):
                injections.append(Injection(group_index=index, slot="append", trajectory=trajectory))
        covered = sum(bool(self.pool[g.prompt.id]) for g in groups)
        self.last = {
            "guidance/active": 1.0,
            "guidance/appended": float(len(injections)),
            "guidance/covered_frac": covered / len(groups) if groups else 0.0,
            "guidance/pool_prompts": float(len(self.pool)),
            "guidance/pool_solved_frac": sum(bool(v) for v in self.pool.values()) / max(len(self.pool), 1),
        }
        return injections

    def after_step(self, stats: StepStats) -> None:
        return None

    def metrics(self) -> dict[str, float]:
        return dict(self.last)

    def state_dict(self) -> dict[str, Any]:
        # harvesting is costly: keep the pool across resumes (as plain data, see npo_bench.state)
        return {"pool": {k: [trajectory_state(t) for t in v] for k, v in self.pool.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.pool = {k: [trajectory_from_state(t) for t in v] for k, v in state["pool"].items()}


@hookimpl
def npo_bench_register_sources(register):
    register("far_future", FarFutureReplaySource, description="RLEP: replay a finished run's verified successes")
