"""The report folder from hand-made results: files, JSON without NaN, html self-contained, plots optional."""

from __future__ import annotations

import json
import math
import re
import sys

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
    assert sorted(p.name for p in files) == ["report.html", "results.json", "table.csv", "table.md"]
    data = json.loads((tmp_path / "results.json").read_text())  # strict JSON: NaN became null
    npo = data["table"]["rows"][1]
    assert npo["cells"]["synthetic"] == {"mean": None, "ci95": None, "n": 0, "of": 0}
    assert npo["failed"] == ["seed0: RuntimeError: boom"]
    assert data["runs"][0]["curves"]["accuracy"] == {"0": 0.1, "6": 0.4}
    page = (tmp_path / "report.html").read_text()
    assert "plots skipped: matplotlib is not installed" in page and "RuntimeError: boom" in page
    assert '<td class="best">40.00</td>' not in page  # a single scored method is not marked best over nothing
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
