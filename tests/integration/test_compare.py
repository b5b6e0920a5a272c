"""``npo-bench compare`` end to end on the micro preset (slow): 2 methods × 2 seeds with one run failing mid-way,
a second compare that resumes only that run, a third that starts nothing; the table equals the runs' eval JSON."""

from __future__ import annotations

import base64
import csv
import importlib.util
import json
import re
import statistics
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "benchmarks"))
import benchmark_fixtures  # noqa: E402

from npo_bench.cli import main  # noqa: E402
from npo_bench.compare.stats import mean_ci  # noqa: E402
from npo_bench.trainer.backend import EmbeddedBackend  # noqa: E402

pytestmark = pytest.mark.slow


def _fail_luffy_seed0_at_step3(monkeypatch):
    original = EmbeddedBackend.run_step

    def run_step(self):
        if self.config.source.name == "external_teacher" and self.config.seed == 0 and self.step == 3:
            raise RuntimeError("injected failure at step 3")
        return original(self)

    monkeypatch.setattr(EmbeddedBackend, "run_step", run_step)


def _headline(run: Path, benchmark: str) -> float:
    return json.loads((run / "eval" / f"{benchmark}.json").read_text())["scores"]["accuracy"]


def test_compare_fails_one_run_resumes_it_then_reuses_everything(micro_base, tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    benchmark_fixtures.write_all(data)
    runs, out = tmp_path / "runs", tmp_path / "report"
    argv = ["compare", "grpo", "luffy", "--seeds", "2", "--preset", "micro", "--benchmarks", "synthetic,mmstar"]
    argv += ["--data-dir", str(data), "--set", f"runs_dir={runs}", "--out", str(out)]

    # 1. luffy/seed0 (second of four) fails at step 3; the two runs after it still train
    with monkeypatch.context() as patch:
        _fail_luffy_seed0_at_step3(patch)
        assert main(argv) == 1
    captured = capsys.readouterr()
    assert "luffy/seed0: failed: RuntimeError: injected failure at step 3" in captured.err
    first = json.loads((out / "results.json").read_text())
    status = {f"{r['method']}/seed{r['seed']}": r["status"] for r in first["runs"]}
    assert status == {"grpo/seed0": "ok", "luffy/seed0": "failed", "grpo/seed1": "ok", "luffy/seed1": "ok"}
    assert "1 ok, 1 failed" in captured.out

    # 2. rerun: only the failed run trains again (resumed from its step-3 checkpoint), the rest is reused
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert re.findall(r"\[compare\] (\S+): started at step (\d+)", captured.err) == [("luffy/seed0", "3")]
    results = json.loads((out / "results.json").read_text())
    paths = {(r["method"], r["seed"]): Path(r["path"]) for r in results["runs"]}
    assert all(r["status"] == "ok" for r in results["runs"]) and len(paths) == 4
    assert len({p.name for p in paths.values()}) == 4 and all(p.parent == runs for p in paths.values())

    # the table's numbers are the runs' own eval JSON, averaged over seeds with a Student-t interval
    rows = {row["method"]: row for row in results["table"]["rows"]}
    with (out / "table.csv").open() as handle:
        csv_rows = {row["method"]: row for row in csv.DictReader(handle)}
    for method in ("grpo", "luffy"):
        for benchmark in ("synthetic", "mmstar"):
            per_seed = [_headline(paths[(method, seed)], benchmark) for seed in (0, 1)]
            expected = mean_ci(per_seed)
            cell = rows[method]["cells"][benchmark]
            assert cell["mean"] == pytest.approx(statistics.fmean(per_seed)) and cell["n"] == 2
            assert cell["ci95"] == pytest.approx(expected.half_width)
            assert float(csv_rows[method][f"{benchmark}_mean"]) == pytest.approx(expected.mean)
        averages = [statistics.fmean(_headline(paths[(method, s)], b) for b in ("synthetic", "mmstar")) for s in (0, 1)]
        assert rows[method]["cells"]["average"]["mean"] == pytest.approx(statistics.fmean(averages))
        final = json.loads((paths[(method, 0)] / "eval" / "synthetic.json").read_text())
        run = next(r for r in results["runs"] if r["method"] == method and r["seed"] == 0)
        assert run["curves"]["accuracy"][str(final["step"])] == pytest.approx(final["scores"]["accuracy"])
        assert run["wall_s"] > 0
    # steps to GRPO's final: GRPO reaches its own final accuracy by its last step at the latest
    assert 0 < rows["grpo"]["cells"]["steps_to_ref"]["mean"] <= 6
    assert f"{100 * rows['grpo']['cells']['synthetic']['mean']:.2f}" in (out / "table.md").read_text()
    assert "grpo" in captured.out and "Avg." in captured.out  # the table on the terminal

    # plots (matplotlib is an optional extra: without it the report says so) and a self-contained report
    page = (out / "report.html").read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "<table>" in page
    if importlib.util.find_spec("matplotlib") is None:
        assert "plots skipped: matplotlib is not installed" in page
    else:
        for name in ("accuracy", "entropy", "reward", "injected"):
            assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
        assert len(images) == 4 and base64.b64decode(images[0])[:4] == b"\x89PNG"

    # 3. a third compare starts no run at all
    def no_training(job):
        raise AssertionError(f"compare retrained {job.label}")

    monkeypatch.setattr("npo_bench.compare.executors.train_job", no_training)
    assert main(argv) == 0
    assert "started at step" not in capsys.readouterr().err


def test_ctrl_c_keeps_the_run_and_a_rerun_continues_it(micro_base, tmp_path, capsys, monkeypatch):
    argv = ["compare", "grpo", "--seeds", "1", "--preset", "micro", "--set", f"runs_dir={tmp_path / 'runs'}"]
    argv += ["--out", str(tmp_path / "report")]
    original = EmbeddedBackend.run_step

    def interrupted(self):
        if self.step == 4:
            raise KeyboardInterrupt
        return original(self)

    with monkeypatch.context() as patch:
        patch.setattr(EmbeddedBackend, "run_step", interrupted)
        assert main(argv) == 130
    assert "run the same compare again to continue" in capsys.readouterr().err
    assert main(argv) == 0  # resumed from the step-3 checkpoint, not from scratch
    assert re.findall(r"\[compare\] (\S+): started at step (\d+)", capsys.readouterr().err) == [("grpo/seed0", "3")]
    (run,) = (tmp_path / "runs").iterdir()
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2, 3, 3, 4, 5, 6, 6]  # eval 0, train 1-3, eval 3, train 4-6, final eval 6: no duplicates
