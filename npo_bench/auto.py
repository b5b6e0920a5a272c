"""AutoNPO's controller, as pure logic: when to intervene and how far to roll back (NPO paper §4).

- **Mistake pool ℬ**: prompts whose on-policy group accuracy p̂ was low (≤ ``pool_threshold``), with the step at
  which they failed. ℬ_Δ, the "Δ-slice", holds the prompts that failed around step t−Δ.
- **Warning**: the reward EMA stagnates (it improved by less than ``min_improvement`` over ``window`` steps) *and*
  the policy entropy declines over the same window (exploration collapse).
- **Confirmation**: a probe of the current policy π^(t) on pool prompts; it must now solve some of them.
- **Rollback distance**: candidates 𝒟 are distances to saved checkpoints; Q̂(Δ) is π^(t)'s pass rate on ℬ_Δ, V̂(Δ)
  = exp(c · KL̂_tok(π^(t) ‖ π^(t−Δ))) from the same probe's tokens, and Δ* = argmax Q̂/V̂.

The paper states the structure but not the constants (window, thresholds, probe size, c); the defaults below are
the reference notes' suggestions and are all options of the ``near_future`` source.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TriggerSettings:
    window: int = 20  # steps the stagnation and entropy trends are measured over
    ema_beta: float = 0.9  # EMA coefficient of the training reward
    min_improvement: float = 0.005  # the EMA must rise less than this over the window to count as stagnating
    cooldown: int = 30  # steps after an intervention before the next warning can fire


class Trigger:
    """Warning stage: reward-EMA stagnation plus declining entropy."""

    def __init__(self, settings: TriggerSettings):
        self.settings = settings
        self.ema: float | None = None
        self.ema_history: list[float] = []
        self.entropy_history: list[float] = []
        self.quiet_until = 0

    def observe(self, step: int, reward: float, entropy: float) -> None:
        beta = self.settings.ema_beta
        self.ema = reward if self.ema is None else beta * self.ema + (1 - beta) * reward
        self.ema_history.append(self.ema)
        self.entropy_history.append(entropy)
        keep = self.settings.window + 1
        self.ema_history, self.entropy_history = self.ema_history[-keep:], self.entropy_history[-keep:]

    def status(self, step: int) -> dict[str, float | bool]:
        """The warning decision and the numbers behind it (logged to events.jsonl)."""
        window = self.settings.window
        if len(self.ema_history) <= window:
            return {"warning": False, "reason_ready": False}
        improvement = self.ema_history[-1] - self.ema_history[0]
        slope = entropy_slope(self.entropy_history)
        stagnating = improvement < self.settings.min_improvement
        declining = slope < 0
        return {
            "warning": bool(stagnating and declining and step >= self.quiet_until),
            "reason_ready": True,
            "ema_improvement": improvement,
            "entropy_slope": slope,
            "stagnating": stagnating,
            "entropy_declining": declining,
        }

    def cool_down(self, step: int, quiet: int | None = None) -> None:
        """Start fresh trend windows; no warning before ``step + quiet`` (default: the configured cooldown)."""
        self.quiet_until = step + (self.settings.cooldown if quiet is None else quiet)
        self.ema_history.clear()
        self.entropy_history.clear()

    def state_dict(self) -> dict[str, Any]:
        return {
            "ema": self.ema,
            "ema_history": list(self.ema_history),
            "entropy_history": list(self.entropy_history),
            "quiet_until": self.quiet_until,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.ema = state["ema"]
        self.ema_history = list(state["ema_history"])
        self.entropy_history = list(state["entropy_history"])
        self.quiet_until = int(state["quiet_until"])


def entropy_slope(values: Sequence[float]) -> float:
    """Least-squares slope of ``values`` against their index (negative = declining)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    cov = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    var = sum((i - mean_x) ** 2 for i in range(n))
    return cov / var


@dataclass
class MistakePool:
    """Prompts that failed (p̂ ≤ threshold), with every step each failed at.

    A prompt that fails at step 10 and again at step 40 belongs to both the slice around 10 and the slice around 40:
    ℬ_Δ is "the mistakes the policy made around t−Δ", not "the prompts whose latest failure lies there".
    """

    threshold: float = 0.6
    failures: dict[str, list[int]] = field(default_factory=dict)

    def record(self, step: int, pass_rates: Mapping[str, float]) -> None:
        for prompt_id, rate in pass_rates.items():
            if rate <= self.threshold:
                steps = self.failures.setdefault(prompt_id, [])
                if not steps or steps[-1] != step:
                    steps.append(step)

    def slice(self, step: int, half_width: int) -> list[str]:
        """ℬ_Δ for Δ = t − ``step``: prompts with a failure within ±half_width of ``step``."""
        return sorted(p for p, steps in self.failures.items() if any(abs(s - step) <= half_width for s in steps))

    def last_failure(self, prompt_id: str) -> int:
        return self.failures[prompt_id][-1]

    def forget(self, prompt_ids: Iterable[str]) -> None:
        for prompt_id in prompt_ids:
            self.failures.pop(prompt_id, None)

    def __len__(self) -> int:
        return len(self.failures)


def probe_selection(slices: Sequence[Sequence[str]], limit: int) -> list[str]:
    """Up to ``limit`` distinct prompts drawn round-robin from the candidate slices, so each Δ gets probe coverage."""
    chosen: list[str] = []
    seen: set[str] = set()
    queues = [list(s) for s in slices]
    while len(chosen) < limit and any(queues):
        for queue in queues:
            while queue and queue[0] in seen:
                queue.pop(0)
            if queue and len(chosen) < limit:
                seen.add(queue[0])
                chosen.append(queue.pop(0))
    return chosen


@dataclass(frozen=True)
class Candidate:
    delta: int  # rollback distance in steps
    checkpoint_step: int
    q_hat: float  # π^(t) pass rate on the Δ-slice of the pool
    kl_per_token: float  # KL̂(π^(t) ‖ π^(t−Δ)) per token, on the probe's tokens
    v_hat: float  # exp(c · KL)
    slice_size: int

    @property
    def s_hat(self) -> float:
        return self.q_hat / self.v_hat if self.v_hat > 0 else 0.0


def variance_cost(kl_per_token: float, scale: float) -> float:
    """V̂(Δ) = exp(c · KL̂_tok): importance-weight variance grows exponentially in the policy distance (§5)."""
    return math.exp(scale * max(kl_per_token, 0.0))


def choose_rollback(candidates: Sequence[Candidate], min_slice: int = 1) -> Candidate | None:
    """Δ* = argmax Ŝ(Δ) = Q̂/V̂ over candidates with a non-empty slice and Q̂ > 0; ties go to the smaller Δ."""
    usable = [c for c in candidates if c.slice_size >= min_slice and c.q_hat > 0]
    if not usable:
        return None
    return max(usable, key=lambda c: (c.s_hat, -c.delta))
