"""What a comparison knows about one run (plain data, JSON round-trippable) and how it is read from a run directory.

Scores come from the run's ``eval/<benchmark>.json`` (the run's own final evaluation covers its training benchmark,
``npo-bench eval``/compare writes the others); curves come from ``metrics.jsonl`` with replayed steps superseding
abandoned ones (:func:`npo_bench.analysis.curves.final_by_step`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from npo_bench.analysis.curves import final_by_step, metric_curve
from npo_bench.json_values import finite_json  # noqa: F401  (re-exported for the report)

# The headline score of a benchmark's ``scores``: the first of these keys present (MMMU-Pro reports ``overall``).
HEADLINE_KEYS = ("overall", "accuracy")
# Curves plotted and stored per run: name → (phase, metric).
CURVES = {
    "accuracy": ("eval", "eval/accuracy"),
    "entropy": ("train", "policy/entropy"),
    "reward": ("train", "reward/mean"),
    "injected": ("train", "guidance/injected_frac"),
}
WALL_FILE = "compare-wall.json"


@dataclass
class RunResult:
    method: str
    seed: int
    path: str
    status: str = "ok"  # ok | failed | missing
    error: str | None = None
    scores: dict[str, float] = field(default_factory=dict)  # benchmark → headline score (0..1)
    curves: dict[str, dict[int, float]] = field(default_factory=dict)  # name → {step: value}
    updates: dict[int, int] = field(default_factory=dict)  # guided step → optimizer updates so far (scouts incl.)
    wall_s: float | None = None
    final_step: int | None = None

    @property
    def label(self) -> str:
        return f"{self.method}/seed{self.seed}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["curves"] = {k: {str(s): v for s, v in c.items()} for k, c in self.curves.items()}
        data["updates"] = {str(s): v for s, v in self.updates.items()}
        return data


def headline(scores: dict[str, float]) -> float:
    return float(next((scores[key] for key in HEADLINE_KEYS if key in scores), math.nan))


def read_metrics(path: Path) -> list[dict[str, Any]]:
    file = path / "metrics.jsonl"
    if not file.exists():
        return []
    records = []
    for line in file.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a torn last line
    return records


def read_wall(path: Path) -> float | None:
    """Seconds the comparison spent training this run (summed over resumes), if it trained it."""
    file = path / WALL_FILE
    return float(json.loads(file.read_text())["seconds"]) if file.exists() else None


def add_wall(path: Path, seconds: float) -> None:
    from npo_bench.runs import atomic_write_json

    previous = read_wall(path) or 0.0
    atomic_write_json(path / WALL_FILE, {"seconds": previous + seconds})


def collect_run(method: str, seed: int, path: Path, benchmarks: list[str]) -> RunResult:
    """Read one finished run's scores (missing benchmarks are NaN), curves, updates and wall-clock."""
    records = read_metrics(path)
    scores = {}
    for name in benchmarks:
        file = path / "eval" / f"{name}.json"
        scores[name] = headline(json.loads(file.read_text()).get("scores", {})) if file.exists() else math.nan
    train = final_by_step(records, "train")
    return RunResult(
        method=method,
        seed=seed,
        path=str(path),
        scores=scores,
        curves={name: metric_curve(records, phase, key) for name, (phase, key) in CURVES.items()},
        updates={step: int(r["train/updates"]) for step, r in train.items() if "train/updates" in r},
        wall_s=read_wall(path),
        final_step=max(train) if train else None,
    )
