"""Mean ± 95% confidence interval over seeds with Student's t (pure Python, no scipy).

The half-width is t_{0.975, n−1} · s / √n with s the sample standard deviation; one seed has no interval (NaN).
The t quantile inverts the t CDF, written through the regularised incomplete beta function
(CDF(t) = 1 − ½·I_{ν/(ν+t²)}(ν/2, ½) for t ≥ 0), by bisection.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Estimate:
    mean: float
    half_width: float  # of the 95% CI; NaN with fewer than two values
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's continued fraction for the incomplete beta function (Numerical Recipes ``betacf``)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom (0.5 < p < 1)."""
    low, high = 0.0, 1e6
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def mean_ci(values: Sequence[float], level: float = 0.95) -> Estimate:
    """Mean and the half-width of its ``level`` confidence interval (Student t over the given values)."""
    values = [float(v) for v in values]
    if not values:
        return Estimate(math.nan, math.nan, 0)
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Estimate(mean, math.nan, 1)
    t = t_quantile(0.5 + level / 2.0, len(values) - 1)
    return Estimate(mean, t * statistics.stdev(values) / math.sqrt(len(values)), len(values))


# ---- paired differences (method − reference on the same seed) -------------------------------------------------------
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0  # the bootstrap is seeded: the same differences always give the same interval


@dataclass(frozen=True)
class PairedDifference:
    """Per-seed differences ``method − reference`` and what they say about the mean difference.

    ``t_low/t_high``: the paired Student-t 95% CI of the mean difference (the one-sample t interval of the
    differences). ``boot_low/boot_high``: a percentile bootstrap 95% CI of the mean difference (seeds resampled with
    replacement, :data:`BOOTSTRAP_RESAMPLES` times, seeded). ``wins/losses/ties``: the sign count, with the exact
    two-sided sign-test p-value over the non-tied seeds. ``t_p``: the two-sided p-value of the paired t-test (the
    interval's dual: ``t_p < 0.05`` exactly when the t interval excludes 0), which :func:`holm` adjusts when several
    methods are compared with one reference. Fewer than two seeds: no interval (NaN).
    """

    seeds: tuple[int, ...]
    differences: tuple[float, ...]
    mean: float
    sd: float
    t_low: float
    t_high: float
    boot_low: float
    boot_high: float
    wins: int
    losses: int
    ties: int
    sign_p: float
    t_p: float = math.nan

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def t_excludes_zero(self) -> bool:
        return self.n >= 2 and (self.t_low > 0 or self.t_high < 0)

    @property
    def bootstrap_excludes_zero(self) -> bool:
        return self.n >= 2 and (self.boot_low > 0 or self.boot_high < 0)

    @property
    def resolved(self) -> bool:
        """Both 95% intervals exclude 0: the sign of the mean difference is resolved at this seed count."""
        return self.t_excludes_zero and self.bootstrap_excludes_zero


def bootstrap_mean_ci(
    values: Sequence[float], level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (seeded; NaN with fewer than two values)."""
    import random

    values = [float(v) for v in values]
    if len(values) < 2:
        return math.nan, math.nan
    rng = random.Random(seed)
    n = len(values)
    means = sorted(math.fsum(rng.choices(values, k=n)) / n for _ in range(resamples))
    tail = (1.0 - level) / 2.0
    return _quantile(means, tail), _quantile(means, 1.0 - tail)


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default ``linear`` method)."""
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def sign_test_p(wins: int, losses: int) -> float:
    """Exact two-sided sign test: P(a split at least this uneven | each non-tied seed is a fair coin)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def t_test_p(values: Sequence[float]) -> float:
    """Two-sided p-value of the one-sample t-test of mean 0 (the paired t-test of the differences); NaN below two."""
    values = [float(v) for v in values]
    if len(values) < 2:
        return math.nan
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    if sd == 0.0:
        return 1.0 if mean == 0.0 else 0.0
    t = abs(mean) / (sd / math.sqrt(len(values)))
    return min(1.0, 2.0 * (1.0 - t_cdf(t, len(values) - 1)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order; NaN stays NaN and is not counted among the m tests).

    Sorted ascending, the i-th smallest (i = 0…m−1) becomes max over j ≤ i of (m − j)·p_(j), capped at 1: rejecting
    where the adjusted p < α keeps the chance of any false "resolved" among the m comparisons at most α.
    """
    order = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p))
        adjusted[i] = running
    return adjusted


def paired_difference(pairs: Sequence[tuple[int, float, float]], level: float = 0.95) -> PairedDifference:
    """``pairs`` = (seed, method value, reference value) for the seeds both have; differences method − reference."""
    pairs = sorted(pairs)
    differences = [float(m) - float(r) for _, m, r in pairs]
    est = mean_ci(differences, level)
    boot_low, boot_high = bootstrap_mean_ci(differences, level)
    wins = sum(d > 0 for d in differences)
    losses = sum(d < 0 for d in differences)
    return PairedDifference(
        seeds=tuple(seed for seed, _, _ in pairs),
        differences=tuple(differences),
        mean=est.mean,
        sd=statistics.stdev(differences) if len(differences) > 1 else math.nan,
        t_low=est.low,
        t_high=est.high,
        boot_low=boot_low,
        boot_high=boot_high,
        wins=wins,
        losses=losses,
        ties=len(differences) - wins - losses,
        sign_p=sign_test_p(wins, losses),
        t_p=t_test_p(differences),
    )


def verdict(diff: PairedDifference, method: str, reference: str, unit: str = " points", scale: float = 100.0) -> str:
    """The paired evidence in words: whether the difference is resolved (its CI excludes 0) and in which direction."""
    if diff.n == 0:
        return f"{method} vs {reference}: no seed has both runs"
    mean = f"{diff.mean * scale:+.2f}{unit}"
    signs = f"{diff.wins} of {diff.n} seeds above {reference}, {diff.losses} below" + (
        f", {diff.ties} tied" if diff.ties else ""
    )
    if diff.n < 2:
        return f"{method} − {reference} = {mean} on one seed: not resolved (one seed has no interval)"
    t_ci = f"[{diff.t_low * scale:+.2f}, {diff.t_high * scale:+.2f}]"
    boot_ci = f"[{diff.boot_low * scale:+.2f}, {diff.boot_high * scale:+.2f}]"
    head = f"{method} − {reference} = {mean} (95% CI paired t {t_ci}, bootstrap {boot_ci}; {signs})"
    if diff.resolved:
        direction = "above" if diff.mean > 0 else "below"
        return f"{head}: resolved, CI excludes 0 — {method} is {direction} {reference} at n = {diff.n} seeds"
    if diff.t_excludes_zero or diff.bootstrap_excludes_zero:
        which = "paired t" if diff.t_excludes_zero else "bootstrap"
        other = "bootstrap" if diff.t_excludes_zero else "paired t"
        return f"{head}: not resolved — the {which} CI excludes 0 but the {other} CI does not"
    return f"{head}: not resolved, CI includes 0 — no difference shown at n = {diff.n} seeds"
