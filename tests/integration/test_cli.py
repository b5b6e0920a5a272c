"""The command line end to end on the micro preset, and bad input as one clear line without a traceback."""

from __future__ import annotations

import json
import os
import stat

import pytest

from npo_bench.cli import main


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.slow
def test_micro_run_eval_and_resume_through_the_cli(micro_base, tmp_path, capsys):
    runs = tmp_path / "runs"
    code = main(["run", "--preset", "micro", "--runs-dir", str(runs), "--name", "cli", "--seed", "3"])
    assert code == 0
    out = capsys.readouterr().out
    assert "eval/accuracy" in out and "eval/accuracy_gain" in out
    run = runs / "cli"
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if r["phase"] == "train"] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in lines if r["phase"] == "eval"] == [0, 3, 6]
    for key in (
        "reward/mean",
        "reward/pass_rate",
        "reward/all_zero_frac",
        "reward/all_one_frac",
        "policy/entropy",
        "policy/clip_frac",
        "policy/approx_kl",
        "response/length_mean",
        "time/step_s",
    ):
        assert key in lines[1], key
    items = json.loads((run / "eval" / "synthetic.json").read_text())["items"]
    assert len(items) == 32 * 4  # avg@4: four sampled responses per held-out item
    assert {"id", "sample", "response", "extracted", "gold", "correct", "rule"} <= set(items[0])
    assert sorted({item["sample"] for item in items}) == [0, 1, 2, 3]
    meta = json.loads((run / "meta.json").read_text())
    assert meta["seed"] == 3 and meta["ended"] and "torch" in meta["packages"]
    assert "resolved" in (run / "config.yaml").read_text()

    assert main(["eval", "--model", str(run), "--benchmarks", "synthetic", "--limit", "8"]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert len(json.loads((run / "eval" / "synthetic.json").read_text())["items"]) == 8 * 4
    # --set applies on top of the run's own config (it was once silently dropped for a run); --preset is ignored, said
    args = ["eval", "--model", str(run), "--limit", "8", "--set", "eval.samples=2", "--preset", "tiny-cpu"]
    assert main(args) == 2  # not into RUN/eval, which holds the run's own results
    assert "give --out DIR for an evaluation with other settings" in capsys.readouterr().err
    assert len(json.loads((run / "eval" / "synthetic.json").read_text())["items"]) == 8 * 4  # untouched
    assert main([*args, "--out", str(tmp_path / "two")]) == 0
    assert "--preset ignored" in capsys.readouterr().err
    items = json.loads((tmp_path / "two" / "synthetic.json").read_text())["items"]
    assert len(items) == 8 * 2 and sorted({item["sample"] for item in items}) == [0, 1]

    assert main(["run", "--resume", str(run)]) == 0  # a finished run resumes to the same end
    capsys.readouterr()


def test_plugins_command_lists_builtins(capsys):
    assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert "source:grpo" in rows["grpo"]["registers"]
    assert "backend:embedded" in rows["embedded"]["registers"]
    assert "benchmark:synthetic" in rows["synthetic"]["registers"]


def test_config_explain_and_resolved_yaml(capsys):
    assert main(["config", "--preset", "micro", "--set", "trainer.steps=9"]) == 0
    assert "steps: 9" in capsys.readouterr().out
    assert main(["config", "--explain"]) == 0
    assert "trainer.clip_eps_high" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--preset", "nope"], "unknown preset 'nope'"),
        (["run", "--preset", "micro", "--set", "trainer.stepz=3"], "unknown key 'trainer.stepz'"),
        (["run", "--preset", "micro", "--set", "rollout.n=many"], "rollout.n: expected int, got str"),
        (["run", "--preset", "micro", "--source", "npo"], "unknown source 'npo'"),
        (["eval", "--model", "/nonexistent/model"], "no such directory"),
        (["run", "--resume", "/nonexistent/run"], "is not a run directory"),
    ],
)
def test_bad_input_is_one_clear_line(argv, message, capsys):
    assert main(argv) == 2
    assert message in _error_line(capsys)


def test_missing_model_directory_in_config(tmp_path, capsys):
    argv = [
        "run",
        "--preset",
        "micro",
        "--runs-dir",
        str(tmp_path),
        "--set",
        f"model.path={tmp_path / 'missing'}",
        "--set",
        "warmup.enabled=false",
    ]
    assert main(argv) == 2
    assert "does not exist" in _error_line(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_run_directory(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    assert main(["run", "--preset", "micro", "--runs-dir", str(locked / "runs")]) == 2
    assert "cannot write run directory" in _error_line(capsys)


def test_unwritable_run_directory_as_a_file(tmp_path, capsys):
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the runs folder should be")
    assert main(["run", "--preset", "micro", "--runs-dir", str(blocker)]) == 2
    assert "cannot write run directory" in _error_line(capsys)


@pytest.mark.slow
def test_corrupt_checkpoints_are_named_and_never_restarted_over(micro_base, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["run", "--preset", "micro", "--runs-dir", str(runs), "--name", "c", "--steps", "3"]) == 0
    capsys.readouterr()
    metrics = (runs / "c" / "metrics.jsonl").read_bytes()
    for tag in ("step-000000", "step-000003"):  # every checkpoint torn: nothing to fall back to
        state = runs / "c" / "checkpoints" / tag / "trainer_state.pt"
        state.write_bytes(b"garbage")
    assert main(["run", "--resume", str(runs / "c")]) == 2
    captured = capsys.readouterr()
    assert "latest.json names step-000003, but trainer_state.pt has 7 bytes" in captured.out  # the warning
    error = captured.err.strip()
    assert "Traceback" not in error and len(error.splitlines()) == 1
    assert "no intact checkpoint to resume from, but metrics.jsonl holds 3 training step(s)" in error
    assert (runs / "c" / "metrics.jsonl").read_bytes() == metrics
