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
