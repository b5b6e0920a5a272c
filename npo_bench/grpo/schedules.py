"""Learning-rate schedules as pure functions of the step (so a rollback or resume recomputes them exactly)."""

from __future__ import annotations

import math
from collections.abc import Callable


def constant(step: int, total: int, min_ratio: float) -> float:
    """Multiplier 1 at every step (the paper's siblings: constant LR, no warm-up)."""
    return 1.0


def cosine(step: int, total: int, min_ratio: float) -> float:
    """Half-cosine from 1 at step 0 to ``min_ratio`` at ``total`` (and after)."""
    progress = min(max(step, 0) / max(total, 1), 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


LR_SCHEDULES: dict[str, Callable[[int, int, float], float]] = {"constant": constant, "cosine": cosine}
