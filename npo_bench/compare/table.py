"""The comparison table, after the paper's Table 1 (pure: run results in, cells out; rendering is separate).

A row per method; a column per benchmark and their average (each seed's average over benchmarks, then mean ± 95% CI
over seeds); then "steps to the reference's final accuracy" (the first evaluated step at which the run's held-out
accuracy reaches the same seed's reference run's final accuracy), the same counted in optimizer updates
(``train/updates``: scout and abandoned steps included, compute-honest) and wall-clock per run. The best mean of each
column is marked. Failed runs are left out of the numbers and counted in the row.

Below it, the paired evidence (:class:`PairedRow`): for every method but the reference, per seed the method's score
minus the same seed's reference score (same base, same seed, same data order), the mean difference with its 95% CI
(paired t and a seeded bootstrap), the sign count and a sentence saying whether the difference is resolved.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from npo_bench.analysis.curves import steps_to_reach
from npo_bench.compare.results import RunResult
from npo_bench.compare.stats import Estimate, PairedDifference, holm, mean_ci, paired_difference, verdict


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    better: str  # max | min
    scale: float = 1.0  # display scale (scores in percent, like the paper)
    digits: int = 2


@dataclass(frozen=True)
class Cell:
    estimate: Estimate
    of: int  # seeds that could contribute (the estimate's n may be smaller: e.g. the target never reached)


@dataclass
class Row:
    method: str
    cells: dict[str, Cell]
    seeds: list[int]
    failed: list[str] = field(default_factory=list)  # "seedN: error"


@dataclass(frozen=True)
class PairedRow:
    method: str
    column: Column  # the score compared (a benchmark or the average)
    diff: PairedDifference  # method − reference per seed (0..1 scale; shown in points)
    verdict: str  # the evidence in words: resolved (CI excludes 0) or not
    holm_p: float = math.nan  # the paired-t p adjusted over every method compared with the reference on this score
    family: int = 1  # how many methods that adjustment covers


@dataclass
class Table:
    columns: list[Column]
    rows: list[Row]
    best: dict[str, list[str]]  # column key → the method(s) with the best mean (ties all marked)
    reference: str
    paired: list[PairedRow] = field(default_factory=list)


SeedValue = Callable[[RunResult, dict[int, RunResult]], "float | None"]


def columns_for(benchmarks: list[str], reference: str) -> list[Column]:
    return [
        *(Column(name, name, "max", 100.0) for name in benchmarks),
        Column("average", "Avg.", "max", 100.0),
        Column("steps_to_ref", f"steps to {reference} final", "min", digits=1),
        Column("updates_to_ref", f"updates to {reference} final (scouts incl.)", "min", digits=1),
        Column("wall_s", "wall s / run", "min", digits=0),
    ]


def _average(result: RunResult, _: dict[int, RunResult]) -> float | None:
    values = list(result.scores.values())
    return sum(values) / len(values) if values and not any(math.isnan(v) for v in values) else None


def _steps_to_ref(result: RunResult, reference: dict[int, RunResult]) -> float | None:
    ref = reference.get(result.seed)
    if ref is None or not ref.curves.get("accuracy"):
        return None
    ref_curve = ref.curves["accuracy"]
    step = steps_to_reach(result.curves.get("accuracy", {}), ref_curve[max(ref_curve)])
    return None if step is None else float(step)


def _updates_to_ref(result: RunResult, reference: dict[int, RunResult]) -> float | None:
    step = _steps_to_ref(result, reference)
    if step is None:
        return None
    updates = result.updates.get(int(step))
    return None if updates is None else float(updates)


def _score(name: str) -> SeedValue:
    def value(result: RunResult, _: dict[int, RunResult]) -> float | None:
        score = result.scores.get(name, math.nan)
        return None if math.isnan(score) else score

    return value


def value_functions(benchmarks: list[str]) -> dict[str, SeedValue]:
    return {
        **{name: _score(name) for name in benchmarks},
        "average": _average,
        "steps_to_ref": _steps_to_ref,
        "updates_to_ref": _updates_to_ref,
        "wall_s": lambda result, _: result.wall_s,
    }


def build_table(results: list[RunResult], methods: list[str], benchmarks: list[str], reference: str = "grpo") -> Table:
    columns = columns_for(benchmarks, reference)
    values = value_functions(benchmarks)
    reference_runs = {r.seed: r for r in results if r.method == reference and r.status == "ok"}
    rows = []
    for method in methods:
        mine = sorted((r for r in results if r.method == method), key=lambda r: r.seed)
        ok = [r for r in mine if r.status == "ok"]
        cells = {}
        for column in columns:
            seed_values = [v for v in (values[column.key](r, reference_runs) for r in ok) if v is not None]
            cells[column.key] = Cell(mean_ci(seed_values), len(ok))
        failed = [f"seed{r.seed}: {r.error}" for r in mine if r.status != "ok"]
        rows.append(Row(method, cells, [r.seed for r in ok], failed))
    paired = build_paired(results, methods, columns, reference)
    return Table(columns, rows, _best(columns, rows), reference, paired)


def paired_columns(columns: list[Column]) -> list[Column]:
    """The scores compared seed by seed: the average, and each benchmark when there are several."""
    scores = [c for c in columns if c.better == "max"]
    benchmarks = [c for c in scores if c.key != "average"]
    return [c for c in scores if c.key == "average"] + (benchmarks if len(benchmarks) > 1 else [])


def build_paired(
    results: list[RunResult], methods: list[str], columns: list[Column], reference: str
) -> list[PairedRow]:
    """Per method (not the reference) and compared score: the same-seed differences and their verdict."""
    if reference not in methods:
        return []
    values = value_functions([c.key for c in columns if c.better == "max" and c.key != "average"])
    reference_runs = {r.seed: r for r in results if r.method == reference and r.status == "ok"}
    rows = []
    for method in methods:
        if method == reference:
            continue
        for column in paired_columns(columns):
            pairs = []
            for run in (r for r in results if r.method == method and r.status == "ok"):
                ref = reference_runs.get(run.seed)
                mine = values[column.key](run, reference_runs)
                theirs = values[column.key](ref, reference_runs) if ref is not None else None
                if mine is not None and theirs is not None:
                    pairs.append((run.seed, mine, theirs))
            diff = paired_difference(pairs)
            words = verdict(diff, method, reference, scale=column.scale)
            rows.append(
                PairedRow(method, column, diff, words if column.key == "average" else f"{column.title}: {words}")
            )
    return with_holm(rows)


def with_holm(rows: list[PairedRow]) -> list[PairedRow]:
    """Each row with its paired-t p adjusted (Holm) over all methods compared with the reference on the same score."""
    adjusted: dict[int, tuple[float, int]] = {}
    for key in dict.fromkeys(row.column.key for row in rows):
        family = [i for i, row in enumerate(rows) if row.column.key == key]
        p_values = holm([rows[i].diff.t_p for i in family])
        tested = sum(not math.isnan(p) for p in p_values)
        adjusted.update({i: (p, tested) for i, p in zip(family, p_values, strict=True)})
    return [dataclasses.replace(row, holm_p=adjusted[i][0], family=adjusted[i][1]) for i, row in enumerate(rows)]


def _best(columns: list[Column], rows: list[Row]) -> dict[str, list[str]]:
    best = {}
    for column in columns:
        means = {row.method: row.cells[column.key].estimate.mean for row in rows}
        means = {method: m for method, m in means.items() if not math.isnan(m)}
        if len(means) > 1:  # a column with one value has no best
            target = (max if column.better == "max" else min)(means.values())
            best[column.key] = [method for method, m in means.items() if m == target]
    return best
