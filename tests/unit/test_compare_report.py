"""The report folder from hand-made results: files, JSON without NaN, html self-contained, plots optional."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys

import pytest

from npo_bench.compare.report import write_report
from npo_bench.compare.results import RunResult
from npo_bench.compare.table import build_table


def _results() -> list[RunResult]:
    return [
        RunResult("grpo", 0, "r/g0", scores={"synthetic": 0.4}, curves={"accuracy": {0: 0.1, 6: 0.4}}, wall_s=5.0),
        RunResult("npo", 0, "r/n0", status="failed", error="RuntimeError: boom", scores={"synthetic": math.nan}),
    ]


def test_report_without_matplotlib_is_complete_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    results = _results()
    table = build_table(results, ["grpo", "npo"], ["synthetic"])
    files = write_report(tmp_path, table, results, {"methods": ["grpo", "npo"]})
    assert sorted(p.name for p in files) == ["paired.csv", "report.html", "results.json", "table.csv", "table.md"]
    data = json.loads((tmp_path / "results.json").read_text())  # strict JSON: NaN became null
    npo = data["table"]["rows"][1]
    assert npo["cells"]["synthetic"] == {"mean": None, "ci95": None, "n": 0, "of": 0}
    assert npo["failed"] == ["seed0: RuntimeError: boom"]
    assert data["runs"][0]["curves"]["accuracy"] == {"0": 0.1, "6": 0.4}
    page = (tmp_path / "report.html").read_text()
    assert "plots skipped: matplotlib is not installed" in page and "RuntimeError: boom" in page
    assert '<td class="best">40.00</td>' not in page  # a single scored method is not marked best over nothing
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    paired = data["table"]["paired"]  # npo failed: no seed has both runs
    assert [(p["method"], p["score"], p["seeds"], p["resolved"]) for p in paired] == [("npo", "average", [], False)]
    assert "npo vs grpo: no seed has both runs" in page


def test_report_states_the_paired_evidence_in_words(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    results = []
    for seed, (grpo, npo) in enumerate([(0.40, 0.43), (0.38, 0.42), (0.45, 0.46), (0.41, 0.45), (0.36, 0.38)]):
        results.append(RunResult("grpo", seed, f"r/g{seed}", scores={"synthetic": grpo}))
        results.append(RunResult("npo", seed, f"r/n{seed}", scores={"synthetic": npo}))
    results.append(RunResult("luffy", 0, "r/l0", scores={"synthetic": 0.30}))
    table = build_table(results, ["grpo", "npo", "luffy"], ["synthetic"])
    write_report(tmp_path, table, results, {})
    markdown = (tmp_path / "table.md").read_text()
    # npo − grpo: +3 +4 +1 +4 +2 points, mean +2.80, every seed above: resolved
    assert "| npo | Avg. | s0:+3.00 s1:+4.00 s2:+1.00 s3:+4.00 s4:+2.00 | +2.80 |" in markdown
    assert "npo − grpo = +2.80 points" in markdown and "resolved, CI excludes 0" in markdown
    assert "luffy − grpo = -10.00 points on one seed: not resolved (one seed has no interval)" in markdown
    rows = list(csv.DictReader(io.StringIO((tmp_path / "paired.csv").read_text())))
    assert [(r["method"], r["n"], r["wins"], r["resolved"]) for r in rows] == [
        ("npo", "5", "5", "1"),
        ("luffy", "1", "0", "0"),
    ]
    assert float(rows[0]["mean"]) == pytest.approx(0.028)
    page = (tmp_path / "report.html").read_text()
    assert "paired differences vs grpo" in page and "yes, CI excludes 0" in page
    # +3 +4 +1 +4 +2: t = 2.8 / (1.3038 / √5) = 4.80, df 4 → p = 0.0086; one tested method (luffy has one seed, no p):
    # nothing to adjust, so no Holm p is shown
    assert rows[0]["holm_family"] == "1" and "| 5/0/0 | 0.009 | — | yes, CI excludes 0 |" in markdown


def test_holm_names_the_differences_that_survive_several_comparisons(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    results = []
    gains = {"npo": [3, 4, 1, 4, 2], "luffy": [1, -1, 2, 3, 0.5], "exgrpo": [0.5, 0.7, 0.2, 0.9, 0.1]}
    for seed, grpo in enumerate([0.40, 0.38, 0.45, 0.41, 0.36]):
        results.append(RunResult("grpo", seed, f"r/g{seed}", scores={"synthetic": grpo}))
        for method, points in gains.items():
            results.append(
                RunResult(method, seed, f"r/{method}{seed}", scores={"synthetic": grpo + points[seed] / 100})
            )
    table = build_table(results, ["grpo", *gains], ["synthetic"])
    write_report(tmp_path, table, results, {})
    rows = {r["method"]: r for r in csv.DictReader(io.StringIO((tmp_path / "paired.csv").read_text()))}
    p = {m: float(rows[m]["t_p"]) for m in gains}
    holm_p = {m: float(rows[m]["holm_p"]) for m in gains}
    assert {r["holm_family"] for r in rows.values()} == {"3"}
    assert p["npo"] < p["exgrpo"] < 0.05 < p["luffy"]  # exgrpo: small but steady gains, resolved on its own
    assert holm_p["npo"] == pytest.approx(3 * p["npo"]) and holm_p["exgrpo"] == pytest.approx(
        max(3 * p["npo"], 2 * p["exgrpo"])
    )
    assert holm_p["luffy"] == pytest.approx(max(holm_p["exgrpo"], p["luffy"]))
    markdown = (tmp_path / "table.md").read_text()
    survivors = [m for m in ("npo", "exgrpo") if holm_p[m] < 0.05]
    assert f"Avg., 3 methods vs grpo (Holm): {', '.join(survivors)} below 0.05" in markdown
