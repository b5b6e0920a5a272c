"""The expected wall time of a comparison, from a preset's measured step costs, re-estimated as runs finish.

A preset may ship ``configs/costs/<preset>.yaml``: seconds per guided step for each method (everything the method does
per step amortised over the run: NPO's scout steps and harvests, AutoNPO's probes and replays, LUFFY's long teacher
traces), seconds per held-out evaluation, per-run setup and the warm-up, measured on the project's 2-core machine and
stamped with where they came from. A run's expected seconds are

    setup_s + steps · step_s[method] · (rollouts per step ÷ measured)
            + evaluations · eval_s · (evaluated responses ÷ measured)

(times ``slowdown[jobs]`` when several runs share the machine, or the method's own ``method_slowdown[jobs]`` where
one was measured: sharing the cores slows some methods more than others — LUFFY's long teacher traces at one thread
each), and the comparison's is the makespan of its waves (runs without inputs, then runs that read a finished run) on
``jobs`` workers that take runs in order.

As runs finish, :class:`WallTracker` scales what is left by how the finished runs compared with their estimate (a
busy or faster machine shows up there) and prints the new total. Pure functions and a small stateful tracker; the
runner prints.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from npo_bench.errors import UserError


@dataclass(frozen=True)
class StepCosts:
    preset: str
    measured: str  # where and how the numbers were measured (commit, machine, runs)
    setup_s: float  # process start, model load, data generation, checkpoints: per run
    eval_s: float  # one held-out evaluation of ``eval_items`` responses
    eval_items: int  # items × samples of the measured evaluation
    rollouts_per_step: int  # prompts × n of the measured steps
    step_s: dict[str, float]  # method → seconds per guided step, the method's own extra work included
    default_step_s: float  # a method without a measurement (a third-party source): assumed like GRPO
    warmup_s: float  # building the base checkpoint when it is not cached
    slowdown: dict[int, float] = field(default_factory=dict)  # runs at a time → factor on each run's seconds
    # runs at a time → method → its own factor, where it was measured apart from ``slowdown``
    method_slowdown: dict[int, dict[str, float]] = field(default_factory=dict)

    def slowdown_for(self, jobs: int, method: str | None = None) -> float:
        """Factor on a run's seconds when ``jobs`` runs share the machine: the entry for the largest measured
        count ≤ jobs, the method's own where the table has one for that count."""
        if jobs <= 1:
            return 1.0
        known = [j for j in self.slowdown if j <= jobs]
        if not known:
            return 1.0
        count = max(known)
        return self.method_slowdown.get(count, {}).get(method or "", self.slowdown[count])


def costs_file(preset: str) -> Path:
    from npo_bench.presets import builtin_config_dir

    return builtin_config_dir("costs") / f"{preset}.yaml"


def load_costs(preset: str, path: Path | None = None) -> StepCosts | None:
    """The preset's measured costs, or None when it has none (no estimate is printed then)."""
    path = path or costs_file(preset)
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text()) or {}
        step_s = {str(k): float(v) for k, v in data["step_s"].items()}
        slowdown = {int(k): float(v) for k, v in (data.get("slowdown") or {}).items()}
        method_slowdown = {
            int(k): {str(m): float(f) for m, f in v.items()} for k, v in (data.get("method_slowdown") or {}).items()
        }
        unknown = sorted(set(method_slowdown) - set(slowdown))
        if unknown:
            raise ValueError(f"method_slowdown for {unknown} runs at a time, which `slowdown` does not list")
        return StepCosts(
            preset=preset,
            measured=str(data["measured"]),
            setup_s=float(data["setup_s"]),
            eval_s=float(data["eval_s"]),
            eval_items=int(data["eval_items"]),
            rollouts_per_step=int(data["rollouts_per_step"]),
            step_s=step_s,
            default_step_s=float(data.get("default_step_s", step_s.get("grpo", min(step_s.values())))),
            warmup_s=float(data["warmup_s"]),
            slowdown=slowdown,
            method_slowdown=method_slowdown,
        )
    except (KeyError, TypeError, ValueError, AttributeError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: bad step-cost table ({type(exc).__name__}: {exc})") from None


def evaluations(steps: int, eval_every: int) -> int:
    """Held-out evaluations of a run: step 0, every ``eval_every`` steps before the end, and the final one."""
    periodic = (steps - 1) // eval_every if eval_every and steps > 0 else 0
    return 1 + periodic + (1 if steps > 0 else 0)


def run_seconds(costs: StepCosts, method: str, config: dict[str, Any], jobs: int = 1) -> float:
    """Expected seconds of one run of ``method`` with the resolved ``config`` (plain data)."""
    steps, shape, fixed_s = _run_shape(costs, config)
    step_s = costs.step_s.get(method, costs.default_step_s)
    return (fixed_s + steps * step_s * shape) * costs.slowdown_for(jobs, method)


def _run_shape(costs: StepCosts, config: dict[str, Any]) -> tuple[int, float, float]:
    """(steps, rollouts per step relative to the measured ones, setup + evaluation seconds) of a resolved config."""
    trainer, rollout, ev = config["trainer"], config["rollout"], config["eval"]
    steps = int(trainer["steps"])
    shape = rollout["prompts_per_step"] * rollout["n"] / costs.rollouts_per_step
    items = (ev.get("size") or config["task"]["test_size"]) * ev["samples"] / costs.eval_items
    return steps, shape, costs.setup_s + evaluations(steps, int(trainer["eval_every"])) * costs.eval_s * items


def fitted_step_s(
    costs: StepCosts, wall_s: float, config: dict[str, Any], jobs: int = 1, method: str | None = None
) -> float:
    """Seconds per guided step that a finished run's wall implies: :func:`run_seconds` solved for ``step_s``.

    The inverse of :func:`run_seconds` (same setup, evaluation and slowdown terms, same rollout-shape scaling), so a
    table refitted from a comparison's walls predicts those walls again (``perf/step_costs.py``).
    """
    steps, shape, fixed_s = _run_shape(costs, config)
    return (wall_s / costs.slowdown_for(jobs, method) - fixed_s) / (steps * shape)


def fitted_slowdown(costs: StepCosts, wall_s: float, config: dict[str, Any], method: str) -> float:
    """The factor that a run's wall at several jobs implies against the table's seconds per step for ``method``
    alone (``step_s`` measured with the machine to itself): :func:`run_seconds` solved for the slowdown."""
    return wall_s / run_seconds(costs, method, config, jobs=1)


def makespan(durations: Sequence[float], workers: int) -> float:
    """Wall time of ``durations`` on ``workers`` that each take the next run in order when free."""
    if not durations:
        return 0.0
    free = [0.0] * max(1, min(workers, len(durations)))
    for duration in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + duration)
    return max(free)


@dataclass
class PlannedRun:
    label: str
    wave: int  # 0: no inputs; 1: reads a finished run of wave 0
    expected_s: float


def plan_seconds(runs: Sequence[PlannedRun], workers: int) -> float:
    return sum(makespan([r.expected_s for r in runs if r.wave == wave], workers) for wave in (0, 1))


def clock(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "—"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class WallTracker:
    """Expected total wall of a comparison: printed at the start and re-estimated each time a run finishes."""

    def __init__(
        self,
        runs: Sequence[PlannedRun],
        workers: int,
        costs: StepCosts,
        warmup_s: float = 0.0,
        now: Callable[[], float] = time.monotonic,
    ):
        self.runs = {r.label: r for r in runs}
        self.workers = max(1, workers)
        self.costs = costs
        self.warmup_s = warmup_s
        self.now = now
        self.started_at = now()
        self.run_started: dict[str, float] = {}
        self.actual: dict[str, float] = {}

    @property
    def expected_s(self) -> float:
        return self.warmup_s + plan_seconds(list(self.runs.values()), self.workers)

    def opening_line(self, reused: int) -> str:
        per_method: dict[str, list[float]] = {}
        for run in self.runs.values():
            per_method.setdefault(run.label.split("/")[0], []).append(run.expected_s)
        each = ", ".join(f"{m} {clock(sum(v) / len(v))}" for m, v in per_method.items())
        warm = f" + warm-up {clock(self.warmup_s)}" if self.warmup_s else ""
        reuse = f"; {reused} finished run(s) reused" if reused else ""
        return (
            f"[compare] expected wall {clock(self.expected_s)}: {len(self.runs)} run(s), {self.workers} at a time"
            f"{warm} (per run: {each}){reuse}; from the {self.costs.preset} preset's measured step costs "
            f"({self.costs.measured})"
        )

    def start(self, label: str) -> None:
        self.run_started.setdefault(label, self.now())

    def finish(self, label: str, wall_s: float | None = None) -> str | None:
        """Record a finished run and return the re-estimated total (None for a run the plan does not know)."""
        if label not in self.runs:
            return None
        now = self.now()
        took = wall_s if wall_s is not None else now - self.run_started.get(label, self.started_at)
        self.actual[label] = took
        factor = self.speed_factor()
        remaining = self._remaining_s(now, factor)
        elapsed = now - self.started_at
        expected = self.runs[label].expected_s
        return (
            f"[compare] {label} took {clock(took)} (expected {clock(expected)}); "
            f"{len(self.actual)}/{len(self.runs)} done, expected wall now {clock(elapsed + remaining)} "
            f"(elapsed {clock(elapsed)} + remaining {clock(remaining)}; finished runs took {factor:.2f}× their "
            "estimate)"
        )

    def speed_factor(self) -> float:
        """Seconds the finished runs took over the seconds they were expected to take (1 before any finished)."""
        expected = sum(self.runs[label].expected_s for label in self.actual)
        return sum(self.actual.values()) / expected if expected > 0 else 1.0

    def _remaining_s(self, now: float, factor: float) -> float:
        total = 0.0
        for wave in (0, 1):
            left = []
            for run in self.runs.values():
                if run.wave != wave or run.label in self.actual:
                    continue
                spent = now - self.run_started[run.label] if run.label in self.run_started else 0.0
                left.append(max(run.expected_s * factor - spent, 0.0))
            total += makespan(left, self.workers)
        return total
