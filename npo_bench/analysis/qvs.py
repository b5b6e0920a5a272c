"""The signal/variance trade-off of a guide Δ steps ahead (the NPO paper's §5), as pure functions.

For the policy π_t and a later checkpoint π_{t+Δ} of the same run, probed on the same prompts with n samples each:

- **Q(Δ)**, signal quality: among the prompts π_t fails (0 of n correct), the fraction that π_{t+Δ} solves (≥ 1 of n).
- **V(Δ)**, variance cost of learning from π_{t+Δ}'s tokens while training π_t: the per-token importance weights
  w = π_t(y_k | ·) / π_{t+Δ}(y_k | ·) on tokens sampled by π_{t+Δ}. We report Var(w), the per-token KL estimate
  KL(π_{t+Δ} ‖ π_t) ≈ mean(log π_{t+Δ} − log π_t), and V = E[w²] / E[w]² = 1 + Var(w)/E[w]² — the factor by which
  importance weighting shrinks the effective sample size (1 when the two policies agree; it grows with the distance).
- **S(Δ) = Q(Δ) / V(Δ)**, the effective learning signal; Δ* = argmax S (ties: the smaller Δ).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class WeightStats:
    variance: float  # Var(w) over tokens
    v: float  # E[w²] / E[w]²
    kl_per_token: float  # mean(log π_{t+Δ} − log π_t) on π_{t+Δ}'s tokens
    tokens: int


@dataclass(frozen=True)
class QVSPoint:
    delta: int
    q: float
    failed: int  # prompts π_t failed (the denominator of Q)
    solved: int  # of those, prompts π_{t+Δ} solved
    weights: WeightStats

    @property
    def s(self) -> float:
        return self.q / self.weights.v if self.weights.v > 0 else math.nan


def signal_quality(base_correct: Mapping[str, Sequence[bool]], guide_correct: Mapping[str, Sequence[bool]]) -> tuple:
    """(Q, failed, solved): the fraction of prompts with 0 of n correct under π_t that π_{t+Δ} solves at least once."""
    failed = [pid for pid, verdicts in base_correct.items() if not any(verdicts)]
    solved = [pid for pid in failed if any(guide_correct.get(pid, ()))]
    return (len(solved) / len(failed) if failed else math.nan), len(failed), len(solved)


def weight_stats(base_logprobs: Sequence[torch.Tensor], guide_logprobs: Sequence[torch.Tensor]) -> WeightStats:
    """Importance-weight statistics of π_t / π_{t+Δ} on tokens sampled by π_{t+Δ} (both log-probs per token)."""
    if not base_logprobs:
        return WeightStats(math.nan, math.nan, math.nan, 0)
    base = torch.cat([t.double().flatten() for t in base_logprobs])
    guide = torch.cat([t.double().flatten() for t in guide_logprobs])
    if base.shape != guide.shape:
        raise ValueError(f"log-prob shapes differ: {tuple(base.shape)} vs {tuple(guide.shape)}")
    if base.numel() == 0:
        return WeightStats(math.nan, math.nan, math.nan, 0)
    w = torch.exp(base - guide)
    mean = w.mean()
    variance = ((w - mean) ** 2).mean()
    return WeightStats(
        variance=float(variance),
        v=float((w**2).mean() / mean**2),
        kl_per_token=float((guide - base).mean()),
        tokens=int(base.numel()),
    )


def best_delta(points: Sequence[QVSPoint]) -> int | None:
    """Δ* = argmax S over points with a finite S; ties go to the smaller Δ."""
    finite = [p for p in points if not math.isnan(p.s)]
    if not finite:
        return None
    return max(finite, key=lambda p: (p.s, -p.delta)).delta
