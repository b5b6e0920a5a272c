"""``compare --jobs 2`` (slow): runs trained in two worker processes at once give the numbers the same runs give one
after another in-process, each in its own planned directory, and the report holds both."""

from __future__ import annotations

import json

import pytest

from npo_bench.cli import main
from npo_bench.testing import logged_metrics

pytestmark = pytest.mark.slow


def test_two_worker_processes_reproduce_the_sequential_runs(micro_base, tmp_path, capsys):
    argv = ["compare", "grpo", "luffy", "--seeds", "1", "--preset", "micro"]
    argv += ["--set", "model.threads=1", "--set", "trainer.steps=4"]
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        assert main([*argv, "--jobs", jobs, "--set", f"runs_dir={out / 'runs'}", "--out", str(out)]) == 0, (
            capsys.readouterr().err
        )
    sequential = sorted((tmp_path / "jobs1" / "runs").iterdir())
    parallel = sorted((tmp_path / "jobs2" / "runs").iterdir())
    assert [p.name for p in parallel] == [p.name for p in sequential] and len(parallel) == 2
    for one, two in zip(sequential, parallel, strict=True):
        assert logged_metrics(two) == logged_metrics(one), one.name
        first, second = (json.loads((p / "eval" / "synthetic.json").read_text()) for p in (one, two))
        assert second["scores"] == first["scores"]
    rows = [_without_wall(json.loads((tmp_path / f"jobs{j}" / "results.json").read_text())) for j in ("1", "2")]
    assert rows[1] == rows[0] and [r["method"] for r in rows[1]] == ["grpo", "luffy"]
    assert all(r["cells"]["synthetic"]["n"] == 1 for r in rows[1])


def _without_wall(results: dict) -> list[dict]:
    """The table rows with the wall-clock column dropped (the only thing that may differ between executors)."""
    rows = results["table"]["rows"]
    return [{**row, "cells": {k: v for k, v in row["cells"].items() if k != "wall_s"}} for row in rows]
