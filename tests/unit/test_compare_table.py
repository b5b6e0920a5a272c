"""The Table-1-style table from hand-made run results: cells, CI, best marks, failed runs, rendering."""

from __future__ import annotations

import csv
import io
import math

import pytest

from npo_bench.compare.render import to_csv, to_markdown, to_text
from npo_bench.compare.results import RunResult, headline
from npo_bench.compare.table import build_table


def _run(method, seed, synthetic, other, accuracy, updates, wall, status="ok"):
    return RunResult(
        method,
        seed,
        f"runs/{method}-{seed}",
        status=status,
        error=None if status == "ok" else "RuntimeError: boom",
        scores={"synthetic": synthetic, "mathvista": other},
        curves={"accuracy": accuracy},
        updates=updates,
        wall_s=wall,
    )


RESULTS = [
    _run("grpo", 0, 0.40, 0.20, {0: 0.1, 3: 0.30, 6: 0.40}, {3: 3, 6: 6}, 100.0),
    _run("grpo", 1, 0.50, 0.30, {0: 0.1, 3: 0.45, 6: 0.50}, {3: 3, 6: 6}, 120.0),
    _run("npo", 0, 0.60, 0.20, {0: 0.1, 3: 0.40, 6: 0.60}, {3: 5, 6: 8}, 150.0),
    _run("npo", 1, 0.60, 0.30, {0: 0.1, 3: 0.45, 6: 0.60}, {3: 5, 6: 8}, 170.0),
    _run("npo", 2, math.nan, math.nan, {}, {}, None, status="failed"),
]


def test_cells_are_seed_means_with_student_t_intervals():
    table = build_table(RESULTS, ["grpo", "npo"], ["synthetic", "mathvista"])
    grpo, npo = table.rows
    assert grpo.cells["synthetic"].estimate.mean == pytest.approx(0.45)
    assert grpo.cells["synthetic"].estimate.half_width == pytest.approx(12.7062 * 0.0707107 / math.sqrt(2), rel=1e-4)
    # each seed's average over benchmarks first: grpo 0.30, 0.40 → 0.35; npo 0.40, 0.45 → 0.425
    assert grpo.cells["average"].estimate.mean == pytest.approx(0.35)
    assert npo.cells["average"].estimate.mean == pytest.approx(0.425)
    assert npo.cells["synthetic"].estimate.half_width == 0.0  # identical seeds
    # GRPO's final per seed: 0.40, 0.50. NPO reaches 0.40 at step 3 (seed 0) and 0.50 only at step 6 (seed 1)
    assert npo.cells["steps_to_ref"].estimate.mean == pytest.approx(4.5)
    assert npo.cells["updates_to_ref"].estimate.mean == pytest.approx((5 + 8) / 2)
    assert grpo.cells["steps_to_ref"].estimate.mean == pytest.approx(6.0)
    assert npo.cells["wall_s"].estimate.mean == pytest.approx(160.0)
    # the failed seed is not in the numbers but is reported
    assert npo.seeds == [0, 1] and npo.failed == ["seed2: RuntimeError: boom"] and npo.cells["synthetic"].of == 2


def test_best_per_column_follows_its_direction():
    table = build_table(RESULTS, ["grpo", "npo"], ["synthetic", "mathvista"])
    assert table.best["synthetic"] == ["npo"] and table.best["average"] == ["npo"]
    assert table.best["mathvista"] == ["grpo", "npo"]  # 0.25 each: a tie marks both
    assert table.best["steps_to_ref"] == ["npo"] and table.best["wall_s"] == ["grpo"]


def test_unreached_target_is_counted_not_averaged():
    slow = _run("luffy", 0, 0.3, 0.3, {0: 0.1, 6: 0.35}, {6: 6}, 90.0)
    fast = _run("luffy", 1, 0.6, 0.3, {0: 0.1, 3: 0.55}, {3: 3}, 90.0)
    row = build_table([*RESULTS, slow, fast], ["luffy"], ["synthetic"]).rows[0]
    cell = row.cells["steps_to_ref"]
    assert (cell.estimate.n, cell.of, cell.estimate.mean) == (1, 2, 3.0)


def test_renderings_agree_with_the_cells():
    table = build_table(RESULTS, ["grpo", "npo"], ["synthetic", "mathvista"])
    md = to_markdown(table)
    assert "| npo | **60.00 ± 0.00** |" in md and "failed: npo seed2: RuntimeError: boom" in md
    text = to_text(table)
    assert "60.00 ± 0.00*" in text and "2 ok, 1 failed" in text
    rows = list(csv.DictReader(io.StringIO(to_csv(table))))
    assert float(rows[0]["synthetic_mean"]) == pytest.approx(0.45) and rows[1]["synthetic_best"] == "1"


def test_headline_score_prefers_overall():
    assert headline({"accuracy": 0.5, "overall": 0.4}) == 0.4 and headline({"accuracy": 0.5}) == 0.5
    assert math.isnan(headline({}))
