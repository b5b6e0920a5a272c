"""``npo-bench analyze qvs`` on a finished micro run (slow): finite Q, V, S for every Δ, Δ* the argmax, JSON + plot."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest

from npo_bench.cli import main
from npo_bench.trainer.loop import Run, create_run

pytestmark = pytest.mark.slow


def test_qvs_between_the_checkpoints_of_a_micro_run(micro_config, tmp_path, capsys):
    micro_config.name = "grpo"
    run = create_run(micro_config, {})
    Run(micro_config, run, log=lambda _: None, show_progress=False).execute()  # checkpoints at steps 0, 3, 6

    out = tmp_path / "qvs"
    argv = ["analyze", "qvs", str(run.path), "--deltas", "3,6", "--prompts", "24", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "qvs.json").read_text())
    assert [p["delta"] for p in report["points"]] == [3, 6] and report["n"] == micro_config.rollout.n
    for point in report["points"]:
        weights = point["weights"]
        assert point["failed"] > 0, "the micro base must fail some prompts for Q to be defined"
        assert 0.0 <= point["q"] <= 1.0 and point["q"] == pytest.approx(point["solved"] / point["failed"])
        assert weights["tokens"] > 0 and weights["variance"] >= 0.0 and weights["v"] >= 1.0 - 1e-9
        assert all(math.isfinite(x) for x in (point["q"], weights["v"], weights["kl_per_token"], point["s"]))
        assert point["s"] == pytest.approx(point["q"] / weights["v"])
    best = max(report["points"], key=lambda p: (p["s"], -p["delta"]))
    assert report["delta_star"] == best["delta"] and f"Δ* = {best['delta']}" in printed
    if importlib.util.find_spec("matplotlib") is not None:  # optional extra `plots`
        assert (out / "qvs.png").read_bytes()[:4] == b"\x89PNG"

    # the analysis reads checkpoints only: Δ that lands on no checkpoint is one clear error line
    assert main(["analyze", "qvs", str(run.path), "--deltas", "2"]) == 2
    assert "no checkpoint at step 0 + Δ" in capsys.readouterr().err
