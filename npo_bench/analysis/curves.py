"""Learning curves from a run's ``metrics.jsonl`` records (pure: lists of dicts in, numbers out).

After an NPO rollback the log repeats step numbers (the abandoned scout segment, then the replay); the curves keep
the *last* record of each step, so the replayed step supersedes the abandoned one. ``train/updates`` counts every
optimizer step ever taken (scouts and abandoned steps included), which makes "steps to reach" compute-honest.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

Record = dict[str, Any]


def final_by_step(records: list[Record], phase: str) -> dict[int, Record]:
    """The last record of each step in ``phase``: after a rollback, the replayed step supersedes the abandoned one."""
    out: dict[int, Record] = {}
    for record in records:
        if record["phase"] == phase:
            out[record["step"]] = record
    return dict(sorted(out.items()))


def metric_curve(records: list[Record], phase: str, key: str) -> dict[int, float]:
    """``{step: value}`` of one metric over the surviving records of ``phase`` (steps without it are left out)."""
    return {step: float(r[key]) for step, r in final_by_step(records, phase).items() if key in r}


def eval_curve(run: dict) -> dict[int, float]:
    """Held-out accuracy by step of a run read as ``{"metrics": records, ...}``."""
    return metric_curve(run["metrics"], "eval", "eval/accuracy")


def steps_to_reach(curve: dict[int, float], target: float) -> int | None:
    """The first evaluated step (after step 0) whose accuracy is at least ``target`` (None if never)."""
    return next((step for step, acc in curve.items() if step > 0 and acc >= target), None)


def updates_at(records: list[Record], step: int) -> int | None:
    """Optimizer updates (scouts and abandoned steps included) spent by the time guided step ``step`` was done."""
    record = final_by_step(records, "train").get(step)
    if record is None or "train/updates" not in record:
        return None
    return int(record["train/updates"])


def scout_steps_by(run: dict, step: int) -> int:
    """Scout (train-ahead) steps spent before guided step ``step`` was reached."""
    count, guided = 0, 0
    for record in run["metrics"]:
        if record["phase"] == "train":
            guided = record["step"]
            if guided >= step:
                break
        elif record["phase"] == "scout":
            count += 1
    return count


def mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0
