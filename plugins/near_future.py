"""The ``near_future`` guidance source: Near-Future Policy Optimization (NPO) and AutoNPO.

NPO (arXiv 2604.20733, §3): for a prompt the current policy struggles on — on-policy group pass rate p̂ ≤ τ_gate
(0.6) — the n-th (last) rollout slot is replaced by a verified-correct trajectory from a *later checkpoint of the same
run*. The later checkpoint comes from training ahead Δ steps and rolling back (§3.1); one verified trajectory per
prompt is cached (§3.2, "the guide generates several responses … one verified-correct trajectory is kept"); the RL
objective is unchanged, only the group composition (§3.3). Two manual schedules (§3.5):

- ``early`` bootstrapping: at step t₀ (the base), scout Δ steps, harvest, restart from t₀ with guidance over the
  segment (the paper's Δ* ≈ 20 from the base);
- ``late`` plateau breakthrough: at step t, save, train ahead Δ, harvest, roll back to t and replay the segment with
  guidance (Δ* ≈ 70 from a mid-training policy).

Both are one mechanism — anchor, scout, harvest, roll back, guided replay — so one code path serves them.

AutoNPO (§4, ``auto: true``): a mistake pool, a warning trigger (reward-EMA stagnation + declining entropy) confirmed
by a probe of π^(t) on pool prompts, Δ* = argmax Q̂/V̂ over distances to saved snapshots; π^(t) guides the pool
prompts of the Δ*-slice, training rolls back to t−Δ* and replays with injection for those prompts only. The pure
logic lives in :mod:`npo_bench.auto`.

Choices the paper leaves open (documented here and in ``OPTIONS``): the guide samples ``harvest_k = 8`` responses per
prompt at the training temperature and keeps the first verified one; the replayed segment has the length of the
scout (``segment = delta``); the injected slot is trained ``on_policy`` (old log-probs recomputed — the paper's
default; with and without IS "perform almost identically") or with truncated ``importance`` weights as the ablation.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from npo_bench import UserError, hookimpl
from npo_bench.auto import (
    Candidate,
    MistakePool,
    Trigger,
    TriggerSettings,
    choose_rollback,
    probe_selection,
    variance_cost,
)
from npo_bench.guidance import TrainerControl, source_options
from npo_bench.options import Option
from npo_bench.state import trajectory_from_state, trajectory_state
from npo_bench.types import CheckpointRef, Group, Injection, Prompt, StepStats, Trajectory

OPTIONS: dict[str, Option] = {
    # name: Option(default, meaning, constraints)
    "schedule": Option(
        [{"kind": "early", "at": 0, "delta": 20}], "interventions: {kind: early|late, at, delta, segment}", kind=list
    ),
    "tau_gate": Option(0.6, "inject only when the on-policy pass rate p̂ ≤ τ_gate (paper: 0.6)", ge=0, le=1),
    "harvest_k": Option(
        8, "guide samples per prompt when harvesting (paper: unstated; 8 at training temperature)", ge=1
    ),
    "loss_mode": Option(
        "on_policy",
        "on_policy (paper default) | importance (IS on the guide slot, truncated)",
        choices=("on_policy", "importance"),
    ),
    "auto": Option(False, "AutoNPO: decide when and how far to roll back instead of following `schedule`"),
    "snapshot_every": Option(
        10, "AutoNPO: save a rollback candidate every this many steps (siblings save every 10)", ge=1
    ),
    "min_delta": Option(10, "AutoNPO: smallest rollback distance considered", ge=1),
    "max_delta": Option(80, "AutoNPO: largest rollback distance considered", ge=1),
    "window": Option(20, "AutoNPO: steps over which reward stagnation and entropy decline are measured", ge=1),
    "ema_beta": Option(0.9, "AutoNPO: EMA coefficient of the training reward", ge=0, lt=1),
    "min_improvement": Option(0.005, "AutoNPO: EMA gain over the window below which the reward stagnates", ge=0),
    "cooldown": Option(30, "AutoNPO: steps after an intervention before the trigger may fire again", ge=0),
    "pool_threshold": Option(0.6, "AutoNPO: p̂ at or below which a prompt enters the mistake pool", ge=0, le=1),
    "probe_prompts": Option(64, "AutoNPO: pool prompts in the confirmation probe", ge=1),
    "probe_k": Option(4, "AutoNPO: samples per probe prompt", ge=1),
    "min_solved": Option(1, "AutoNPO: probe prompts π^(t) must now solve to confirm the warning", ge=0),
    "slice_half_width": Option(5, "AutoNPO: ℬ_Δ holds failures within ±this many steps of t−Δ", ge=0),
    "kl_scale": Option(1.0, "AutoNPO: c in V̂(Δ) = exp(c · per-token KL)", ge=0),
    "kl_samples_per_prompt": Option(
        1,
        "AutoNPO: probe responses per prompt on which the per-token KL of V̂ is measured (paper: unstated; one "
        "response per probe prompt keeps the estimate over ~64 prompts at a quarter of the cost)",
        ge=1,
    ),
    "max_interventions": Option(4, "AutoNPO: at most this many rollbacks per run (a bound on replayed compute)", ge=0),
}


@dataclasses.dataclass(frozen=True)
class Intervention:
    kind: str  # "early" | "late" | "auto"
    at: int  # the anchor step
    delta: int  # steps trained ahead (manual) or rolled back (auto)
    segment: int  # guided steps after the anchor


class NearFutureSource:
    """NPO: replace the last slot of struggling groups with a verified trajectory from a near-future checkpoint."""

    options = OPTIONS

    @staticmethod
    def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
        """The options with defaults filled in; a clear error for anything unusable (called before any work).

        Types and ranges come from ``OPTIONS``; here the checks across options: ``min_delta ≤ max_delta``,
        ``min_solved ≤ probe_prompts``, a ``schedule`` only without ``auto``, and every schedule entry well formed.
        """
        opts = source_options("near_future", OPTIONS, options)
        if opts["min_delta"] > opts["max_delta"]:
            raise UserError(
                f"source 'near_future': min_delta={opts['min_delta']} > max_delta={opts['max_delta']}: "
                "no rollback distance is possible"
            )
        if opts["min_solved"] > opts["probe_prompts"]:
            raise UserError(
                f"source 'near_future': min_solved={opts['min_solved']} > probe_prompts={opts['probe_prompts']}: "
                "a warning could never be confirmed"
            )
        if opts["auto"] and "schedule" in options:
            raise UserError(
                "source 'near_future': schedule is not used with auto=true (AutoNPO decides when to intervene)",
                hint="drop one of them (--method npo sets a schedule; use --source near_future --auto instead)",
            )
        if not opts["auto"]:
            for spec in opts["schedule"]:
                _intervention(spec)
        return opts

    def setup(self, ctl: TrainerControl, options: Mapping[str, Any]) -> None:
        self.opts = self.validate_options(options)
        self.plan = [] if self.opts["auto"] else [_intervention(spec) for spec in self.opts["schedule"]]
        self.cache: dict[str, Trajectory] = {}
        self.active: Intervention | None = None  # the intervention whose guided segment is running
        self.step = 0
        self.scout_steps = 0
        self.replayed_steps = 0
        self.interventions = 0  # AutoNPO rollbacks taken
        self.last: dict[str, float] = {}
        self.pool = MistakePool(float(self.opts["pool_threshold"]))
        self.trigger = Trigger(
            TriggerSettings(
                int(self.opts["window"]),
                float(self.opts["ema_beta"]),
                float(self.opts["min_improvement"]),
                int(self.opts["cooldown"]),
            )
        )
        self.snapshots: dict[int, CheckpointRef] = {}

    # ---- before the step: interventions ---------------------------------------------------------------------------
    def before_step(self, ctl: TrainerControl) -> None:
        self.step = ctl.step
        if self.active is not None and self.step >= self.active.at + self.active.segment:
            ctl.log_event({"event": "segment_end", "kind": self.active.kind, "anchor": self.active.at})
            self.active, self.cache = None, {}
        if self.opts["auto"]:
            self._auto(ctl)
            return
        due = [i for i in self.plan if i.at == self.step]
        if due:
            self._scout_and_rewind(ctl, due[0])

    def _scout_and_rewind(self, ctl: TrainerControl, plan: Intervention) -> None:
        """Anchor at t, train ahead Δ, harvest for the segment's prompts, roll back to t (§3.1, §3.5).

        The anchor is saved while the intervention is still planned: a run killed during the scout resumes from the
        anchor and scouts again, nothing lost.
        """
        anchor = ctl.save(f"npo-anchor-{plan.at:06d}")
        self.plan.remove(plan)
        ctl.train(plan.delta)
        self.scout_steps += plan.delta
        prompts = ctl.prompts_between(plan.at, plan.at + plan.segment)
        harvested = self._harvest(ctl, prompts)
        ctl.restore(anchor)
        kl = self._kl_guide_current(ctl, list(harvested.values()))
        self.cache, self.active = harvested, plan
        ctl.log_event(
            {
                "event": "intervention",
                "kind": plan.kind,
                "anchor": plan.at,
                "delta": plan.delta,
                "segment": plan.segment,
                "segment_prompts": len(prompts),
                "cache_size": len(harvested),
                "guide_solve_rate": len(harvested) / max(len(prompts), 1),
                "kl_guide_current": kl,
                "rollback": {"from": plan.at + plan.delta, "to": plan.at},
            }
        )

    def _harvest(self, ctl: TrainerControl, prompts: Sequence[Prompt]) -> dict[str, Trajectory]:
        """k guide samples per prompt; keep the first verified-correct one (none if the guide fails too)."""
        cache: dict[str, Trajectory] = {}
        prompts = list({p.id: p for p in prompts}.values())  # a prompt seen twice in the segment is harvested once
        for prompt, group in zip(prompts, ctl.sample(prompts, int(self.opts["harvest_k"])), strict=True):
            correct = next((t for t in group if t.correct), None)
            if correct is not None:
                cache[prompt.id] = self._as_guide(correct, ctl.step)
        return cache

    def _as_guide(self, trajectory: Trajectory, step: int) -> Trajectory:
        """A verified trajectory of π^(step) in its role as a guide: trained with ``loss_mode`` (``importance`` reads
        its own log-probs, recorded when π^(step) sampled it)."""
        return dataclasses.replace(trajectory, origin=f"guide@step-{step}", loss_mode=self.opts["loss_mode"])

    def _kl_guide_current(self, ctl: TrainerControl, trajectories: Sequence[Trajectory]) -> float:
        """Mean per-token KL(guide ‖ current) on the guide's own tokens: the V(Δ) proxy (§5)."""
        with_logprobs = [t for t in trajectories if t.logprobs is not None and t.length > 0]
        if not with_logprobs:
            return 0.0
        current = ctl.logprobs(with_logprobs)
        diffs = [float((t.logprobs - lp).sum()) for t, lp in zip(with_logprobs, current, strict=True)]
        return sum(diffs) / sum(t.length for t in with_logprobs)

    # ---- AutoNPO -------------------------------------------------------------------------------------------------
    def _auto(self, ctl: TrainerControl) -> None:
        t = self.step
        if t % int(self.opts["snapshot_every"]) == 0:
            self.snapshots[t] = ctl.save(f"npo-snapshot-{t:06d}")
        if self.active is not None or self.interventions >= int(self.opts["max_interventions"]):
            return
        status = self.trigger.status(t)
        self.last.update({"auto/warning": float(bool(status.get("warning")))})
        if not status.get("warning"):
            return
        half_width = int(self.opts["slice_half_width"])
        reachable = [step for step in sorted(self.snapshots, reverse=True) if self._in_range(t - step)]
        if not reachable:  # nothing to roll back to yet: keep watching
            return
        probe_ids = probe_selection([self.pool.slice(step, half_width) for step in reachable], self._probe_limit())
        by_id = {p.id: p for p in ctl.prompts_between(0, t)}
        prompts = [by_id[pid] for pid in probe_ids if pid in by_id]
        groups = ctl.sample(prompts, int(self.opts["probe_k"])) if prompts else []
        solved = {p.id: g for p, g in zip(prompts, groups, strict=True) if any(x.correct for x in g)}
        event: dict[str, Any] = {"event": "auto_warning", **_floats(status), "pool_size": len(self.pool)}
        event.update({"probe_prompts": len(prompts), "probe_solved": len(solved)})
        if len(solved) < int(self.opts["min_solved"]):
            ctl.log_event({**event, "confirmed": False})
            self.trigger.cool_down(t, quiet=0)  # re-check once a fresh window of trends has accumulated
            return
        candidates = self._candidates(ctl, t, prompts, groups)
        best = choose_rollback(candidates)
        event.update({"confirmed": True, "candidates": [_candidate_row(c) for c in candidates]})
        if best is None:
            ctl.log_event({**event, "delta_star": None})
            self.trigger.cool_down(t)
            return
        slice_ids = set(self.pool.slice(best.checkpoint_step, int(self.opts["slice_half_width"])))
        self.cache = {
            pid: self._as_guide(next(x for x in g if x.correct), t) for pid, g in solved.items() if pid in slice_ids
        }
        self.last.update({"auto/delta_star": float(best.delta), "auto/S_hat": best.s_hat})
        ctl.log_event(  # logged at t, before the rollback
            {
                **event,
                "delta_star": best.delta,
                "q_hat": best.q_hat,
                "v_hat": best.v_hat,
                "s_hat": best.s_hat,
                "cache_size": len(self.cache),
                "rollback": {"from": t, "to": best.checkpoint_step},
            }
        )
        ctl.restore(self.snapshots[best.checkpoint_step])
        self.snapshots = {s: ref for s, ref in self.snapshots.items() if s <= best.checkpoint_step}
        self.replayed_steps += best.delta
        self.active = Intervention("auto", best.checkpoint_step, best.delta, best.delta)
        self.pool.forget(self.cache)
        self.interventions += 1
        # quiet until the replay has caught up with t *and* a cooldown has passed after it: measured from t, not
        # from the rollback target (from t − Δ* the replay would reach the same plateau and fire again at once)
        self.trigger.cool_down(t)

    def _candidates(
        self, ctl: TrainerControl, t: int, prompts: Sequence[Prompt], groups: Sequence[list[Trajectory]]
    ) -> list[Candidate]:
        """Q̂, V̂ for each saved snapshot at distance Δ ∈ [min_delta, max_delta], all from the probe's rollouts.

        Q̂ uses every probe response; the per-token KL behind V̂ uses ``kl_samples_per_prompt`` of them per prompt,
        scored once under π^(t) and once under each candidate snapshot (the controller's dominant cost).
        """
        pass_rate = {p.id: sum(x.correct for x in g) / len(g) for p, g in zip(prompts, groups, strict=True)}
        per_prompt = int(self.opts["kl_samples_per_prompt"])
        kl_trajectories = [x for g in groups for x in [y for y in g if y.length > 0][:per_prompt]]
        current_logprobs = ctl.logprobs(kl_trajectories)  # once: the same for every candidate
        tokens = sum(x.length for x in kl_trajectories)
        candidates = []
        for step, ref in sorted(self.snapshots.items()):
            delta = t - step
            if not self._in_range(delta):
                continue
            members = [p for p in self.pool.slice(step, int(self.opts["slice_half_width"])) if p in pass_rate]
            q_hat = statistics.fmean(pass_rate[p] for p in members) if members else 0.0
            rollback_logprobs = ctl.logprobs(kl_trajectories, checkpoint=ref)
            kl = sum(float((a - b).sum()) for a, b in zip(current_logprobs, rollback_logprobs, strict=True)) / max(
                tokens, 1
            )
            v_hat = variance_cost(kl, float(self.opts["kl_scale"]))
            candidates.append(Candidate(delta, step, q_hat, kl, v_hat, len(members)))
        return candidates

    def _in_range(self, delta: int) -> bool:
        return int(self.opts["min_delta"]) <= delta <= int(self.opts["max_delta"])

    def _probe_limit(self) -> int:
        return int(self.opts["probe_prompts"])

    # ---- the step: group surgery --------------------------------------------------------------------------------
    def select_prompts(self, step: int, fresh: Sequence[Prompt]) -> list[Prompt]:
        return list(fresh)

    def guide(self, groups: Sequence[Group]) -> list[Injection]:
        """Replace the last slot (n-th rollout) of groups with p̂ ≤ τ_gate that have a cached guide trajectory (§3.3)."""
        injections: list[Injection] = []
        gated = hits = failed = failed_hits = 0
        if self.active is not None:
            for index, group in enumerate(groups):
                cached = self.cache.get(group.prompt.id)
                if group.pass_rate == 0.0:
                    failed += 1
                    failed_hits += cached is not None
                if group.pass_rate > float(self.opts["tau_gate"]):
                    continue
                gated += 1
                if cached is None:
                    continue
                hits += 1
                injections.append(Injection(group_index=index, slot="last", trajectory=cached))
        self.last.update(
            {
                "guidance/active": float(self.active is not None),
                "guidance/cache_size": float(len(self.cache)),
                "guidance/cache_hit_rate": hits / gated if gated else 0.0,
                "guidance/q_hat": failed_hits / failed if failed else 0.0,
                "guidance/scout_steps": float(self.scout_steps),
                "guidance/replayed_steps": float(self.replayed_steps),
            }
        )
        return injections

    def metrics(self) -> dict[str, float]:
        return dict(self.last)

    def after_step(self, stats: StepStats) -> None:
        self.step = stats.step
        if self.opts["auto"]:
            self.pool.record(stats.step, {g.prompt.id: g.pass_rate for g in stats.groups})
            self.trigger.observe(stats.step, stats.metrics["reward/mean"], stats.metrics["policy/entropy"])

    # ---- checkpoints ---------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "plan": [dataclasses.asdict(i) for i in self.plan],
            "cache": {prompt_id: trajectory_state(t) for prompt_id, t in self.cache.items()},
            "active": dataclasses.asdict(self.active) if self.active else None,
            "scout_steps": self.scout_steps,
            "replayed_steps": self.replayed_steps,
            "interventions": self.interventions,
            "pool": {p: list(steps) for p, steps in self.pool.failures.items()},
            "trigger": self.trigger.state_dict(),
            "snapshots": {s: (ref.tag, str(ref.path)) for s, ref in self.snapshots.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        from pathlib import Path

        self.plan = [Intervention(**i) for i in state["plan"]]
        self.cache = {prompt_id: trajectory_from_state(t) for prompt_id, t in state["cache"].items()}
        self.active = Intervention(**state["active"]) if state["active"] else None
        self.scout_steps = int(state["scout_steps"])
        self.replayed_steps = int(state["replayed_steps"])
        self.interventions = int(state.get("interventions", 0))
        self.pool.failures = {p: [int(s) for s in steps] for p, steps in state["pool"].items()}
        self.trigger.load_state_dict(state["trigger"])
        self.snapshots = {int(s): CheckpointRef(int(s), tag, Path(p)) for s, (tag, p) in state["snapshots"].items()}


SCHEDULE_KEYS = ("kind", "at", "delta", "segment")


def _intervention(spec: Any) -> Intervention:
    """One schedule entry ``{kind: early|late, at ≥ 0, delta ≥ 1, segment ≥ 1 (default: delta)}``."""
    where = f"source 'near_future': bad schedule entry {spec!r}"
    wanted = "a mapping {kind: early|late, at: step ≥ 0, delta: steps ≥ 1, segment: steps ≥ 1}"
    if not isinstance(spec, Mapping):
        raise UserError(f"{where}: expected {wanted}")
    unknown = sorted(str(key) for key in spec if key not in SCHEDULE_KEYS)
    missing = [key for key in ("kind", "at", "delta") if key not in spec]
    if unknown or missing:
        problem = f"unknown keys {unknown}" if unknown else f"missing {', '.join(missing)}"
        raise UserError(f"{where}: {problem}; expected {wanted}")
    numbers = {key: spec.get(key, spec["delta"]) for key in ("at", "delta", "segment")}
    if any(isinstance(v, bool) or not isinstance(v, int) for v in numbers.values()):
        raise UserError(f"{where}: at, delta and segment must be whole numbers; expected {wanted}")
    if spec["kind"] not in ("early", "late") or numbers["at"] < 0 or numbers["delta"] < 1 or numbers["segment"] < 1:
        raise UserError(f"{where}: expected {wanted}")
    return Intervention(str(spec["kind"]), numbers["at"], numbers["delta"], numbers["segment"])


def _floats(status: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if isinstance(v, (int, float, bool)) else v) for k, v in status.items()}


def _candidate_row(c: Candidate) -> dict[str, float]:
    return {
        "delta": c.delta,
        "q_hat": c.q_hat,
        "kl": c.kl_per_token,
        "v_hat": c.v_hat,
        "s_hat": c.s_hat,
        "slice": c.slice_size,
    }


@hookimpl
def npo_bench_register_sources(register):
    register("near_future", NearFutureSource, description="NPO: near-future self-guidance (schedule or AutoNPO)")
