"""The ``past_replay`` guidance source: ExGRPO (Zhan et al., arXiv 2510.02245; npo-paper.md §6.2).

The policy's *own past* successes, replayed: every step, once the batch solve rate has passed 0.35
(``experience_start_sratio``), half of the step's questions (``experience_ratio = 0.5``) come from the experience pool
instead of the data stream. An experiential question gets the usual n on-policy rollouts, and its n-th slot is
replaced by a stored successful trajectory — the one with the lowest mean token entropy under the current policy
(``exp_metric=ent``, ``argmin``) — trained with the ``exgrpo`` loss: ratio π_θ/π_recorded against the log-probs the
trajectory was sampled with (``exp_is_correct=True``), shaped by f(w) = w/(w+0.1), no clip. Questions enter the pool
with 0 < k < n correct, are bucketed by their latest k with Gaussian weights N(n/2, 1), and retire at n/n (they also
leave the data stream). The pool logic is :mod:`npo_bench.experience`; advantages without std come from the method
preset (``trainer.advantage: mean``), as in ExGRPO's ``grpo_use_std=False``.

Choices the ExGRPO code makes implicitly and this adaptation states: the "batch solve rate" is the step's on-policy
pass rate (mean verdict over all rollouts), and once it passes the threshold, mixing stays on; a retired question
drawn from the stream is replaced by a further experiential question when the pool has one (ExGRPO's loader skips it).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from typing import Any

from npo_bench import UserError, hookimpl
from npo_bench.experience import ExperiencePool
from npo_bench.guidance import TrainerControl, source_options
from npo_bench.options import Option
from npo_bench.state import trajectory_from_state, trajectory_state
from npo_bench.types import Group, Injection, Prompt, StepStats

OPTIONS: dict[str, Option] = {
    "experience_ratio": Option(
        0.5, "fraction of a step's questions drawn from the experience pool (ExGRPO: 0.5)", ge=0, le=1
    ),
    "start_solve_rate": Option(
        0.35, "mixing starts once a step's on-policy pass rate exceeds this (ExGRPO: 0.35)", ge=0, le=1
    ),
    "bucket_sigma": Option(
        1.0, "σ of the Gaussian bucket weights N(n/2, σ) over the latest correct count k (ExGRPO: 1)", gt=0
    ),
    "retire_solved": Option(True, "questions solved n/n leave the pool and the data stream (ExGRPO's skip_uid_set)"),
    "seed": Option(0, "seed of the bucket sampler (combined with the step, so rollbacks and resumes replay exactly)"),
}


class ExperienceReplaySource:
    """ExGRPO: replay the policy's own lowest-entropy past success on medium-difficulty questions."""

    options = OPTIONS

    def setup(self, ctl: TrainerControl, options: Mapping[str, Any]) -> None:
        self.opts = source_options("past_replay", OPTIONS, options)
        self.ctl = ctl
        self.pool: ExperiencePool | None = None  # created on the first step, when the group size n is known
        self.mixing = False
        self.replayed: set[str] = set()  # this step's experiential questions
        self.last: dict[str, float] = {}

    def before_step(self, ctl: TrainerControl) -> None:
        self.ctl = ctl

    def select_prompts(self, step: int, fresh: Sequence[Prompt]) -> list[Prompt]:
        """Half experiential (once mixing has started), the rest fresh; retired questions are skipped."""
        self.replayed = set()
        retired = self.pool.retired if self.pool is not None and self.opts["retire_solved"] else set()
        kept = [p for p in fresh if p.id not in retired]
        if not self.mixing or self.pool is None or not len(self.pool):
            return (
                kept + [p for p in fresh if p.id in retired][: len(fresh) - len(kept)]
            )  # nothing to replace them with
        wanted = round(float(self.opts["experience_ratio"]) * len(fresh)) + (len(fresh) - len(kept))
        rng = random.Random(f"{self.opts['seed']}:exgrpo:{step}")
        fresh_ids = {p.id for p in kept}
        drawn = self.pool.sample(wanted + len(fresh_ids), float(self.opts["bucket_sigma"]), rng)
        chosen = [pid for pid in drawn if pid not in fresh_ids][:wanted]  # never the same question twice in a step
        self.replayed = set(chosen)
        batch = [self.pool.prompts[pid] for pid in chosen] + kept
        batch += [p for p in fresh if p.id in retired]  # only if the pool ran short
        return batch[: len(fresh)]

    def guide(self, groups: Sequence[Group]) -> list[Injection]:
        """The n-th slot of each experiential question ← its stored success with the lowest entropy now."""
        targets = [(i, g) for i, g in enumerate(groups) if g.prompt.id in self.replayed]
        injections: list[Injection] = []
        if targets and self.pool is not None:
            candidates = [t for _, g in targets for t in self.pool.trajectories[g.prompt.id]]
            entropies = iter(self.ctl.entropies(candidates))
            for index, group in targets:
                stored = self.pool.trajectories[group.prompt.id]
                scores = [float(next(entropies).mean()) if t.length else float("inf") for t in stored]
                best = stored[min(range(len(stored)), key=scores.__getitem__)]
                replay = dataclasses.replace(best, origin="replay", loss_mode="exgrpo")  # ratio to its recorded π
                injections.append(Injection(group_index=index, slot="last", trajectory=replay))
        self.last = {
            "guidance/active": float(self.mixing),
            "guidance/replayed_questions": float(len(injections)),
            "guidance/experience_frac": len(injections) / len(groups) if groups else 0.0,
            "guidance/pool_size": float(len(self.pool)) if self.pool is not None else 0.0,
            "guidance/retired": float(len(self.pool.retired)) if self.pool is not None else 0.0,
        }
        return injections

    def after_step(self, stats: StepStats) -> None:
        if not stats.groups:
            return
        if self.pool is None:
            self.pool = ExperiencePool(group_size=len(stats.groups[0].trajectories))
        for group in stats.groups:
            self.pool.record(group)
        if not self.mixing and stats.metrics.get("reward/pass_rate", 0.0) > float(self.opts["start_solve_rate"]):
            self.mixing = True
            self.ctl.log_event({"event": "exgrpo_mixing_starts", "pass_rate": stats.metrics["reward/pass_rate"]})

    def metrics(self) -> dict[str, float]:
        return dict(self.last)

    def state_dict(self) -> dict[str, Any]:
        pool = self.pool
        return {
            "mixing": self.mixing,
            "pool": None
            if pool is None
            else {
                "group_size": pool.group_size,
                "prompts": sorted(pool.prompts),  # ids only: images are rebuilt from the data stream
                "trajectories": {k: [trajectory_state(t) for t in v] for k, v in pool.trajectories.items()},
                "latest_k": dict(pool.latest_k),
                "retired": sorted(pool.retired),
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.mixing = bool(state["mixing"])
        saved = state["pool"]
        self.pool = None
        if saved is not None:
            seen = {p.id: p for p in self.ctl.prompts_between(0, self.ctl.step)}
            missing = [pid for pid in saved["prompts"] if pid not in seen]
            if missing:
                raise UserError(f"source 'past_replay': checkpoint refers to prompts the run never saw: {missing[:3]}")
            self.pool = ExperiencePool(
                int(saved["group_size"]),
                {pid: seen[pid] for pid in saved["prompts"]},
                {k: [trajectory_from_state(t) for t in v] for k, v in saved["trajectories"].items()},
                dict(saved["latest_k"]),
                set(saved["retired"]),
            )


@hookimpl
def npo_bench_register_sources(register):
    register("past_replay", ExperienceReplaySource, description="ExGRPO: replay the run's own past successes")
