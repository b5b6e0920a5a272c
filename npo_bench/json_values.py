"""Values as JSON can hold them (shared by the compare report and the analyses, which must not import each other)."""

from __future__ import annotations

import math
from typing import Any


def finite_json(value: Any) -> Any:
    """JSON has no NaN: an undefined number (a failed run's score, an empty interval) is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_json(v) for v in value]
    return value
