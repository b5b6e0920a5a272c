"""The openrlhf backend on a core install (no ``openrlhf`` extra): listed with the reason it is unavailable, its
``--dry-run`` works anywhere (a laptop, a head node without a GPU), a run fails in one line and leaves nothing, and
refused settings are refused before anything is written. Its behaviour with OpenRLHF installed is tested in
``tests/openrlhf_backend`` (``tox -e openrlhf``)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from npo_bench.cli import main

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("openrlhf") is not None, reason="checks the core install, without the openrlhf extra"
)


def flag_values(out: str) -> dict[str, list[str]]:
    """``--flag value…`` lines of a dry run → {flag: values}."""
    parsed = {}
    for line in out.splitlines():
        tokens = line.split()
        if tokens and tokens[0].startswith("--"):
            parsed[tokens[0]] = tokens[1:]
    return parsed


def test_plugins_lists_the_backend_and_why_it_is_unavailable(capsys):
    assert main(["plugins"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "backend:openrlhf:" in line]
    assert "unavailable here: openrlhf is not installed" in line and "pip install 'npo-bench[openrlhf]'" in line


def test_dry_run_of_the_paper_preset_prints_the_mapped_flags_and_writes_nothing(tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["run", "--preset", "qwen3vl-8b-32xh200", "--source", "near_future", "--auto", "--dry-run"]
    assert main([*argv, "--runs-dir", str(runs), "--set", "trainer.lr=2e-6"]) == 0
    out = capsys.readouterr().out
    assert "nothing was started" in out and "near_future {'auto': True}" in out
    flags = flag_values(out)
    assert flags["--actor.num_nodes"] == ["4"] and flags["--actor.num_gpus_per_node"] == ["8"]  # 4 nodes × 8 H200
    assert flags["--rollout.batch_size"] == ["256"] and flags["--rollout.n_samples_per_prompt"] == ["8"]
    assert flags["--actor.eps_clip_low_high"] == ["0.2", "0.28"] and flags["--actor.loss_agg_mode"] == ["token-mean"]
    assert flags["--actor.adam.lr"] == ["2e-06"]  # --set reaches the mapping
    assert not runs.exists()


def test_a_refused_setting_is_one_line_before_anything_is_written(tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["run", "--preset", "qwen3vl-2b-8xh100", "--dry-run", "--runs-dir", str(runs)]
    assert main([*argv, "--set", "backend_options.flags={--train.enable_ema: true}"]) == 2
    err = capsys.readouterr().err
    assert "--train.enable_ema" in err and "Traceback" not in err
    assert not runs.exists()


def test_a_run_without_the_extra_fails_in_one_line_and_leaves_no_run_directory(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["run", "--preset", "openrlhf-cpu", "--runs-dir", str(runs), "--name", "orl"]) == 2
    err = capsys.readouterr().err
    assert "backend 'openrlhf' is unavailable here: openrlhf is not installed" in err and "Traceback" not in err
    assert not (runs / "orl").exists()


@pytest.mark.parametrize("file", ["config.json", "tokenizer_config.json", "preprocessor_config.json"])
def test_a_model_directory_that_would_run_its_own_code_is_refused(file, tmp_path, capsys):
    """OpenRLHF loads with trust_remote_code=True: an ``auto_map`` would import the folder's Python files."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "qwen3_vl"}')
    data = {"model_type": "qwen3_vl"} if file == "config.json" else {}
    (model / file).write_text(json.dumps({**data, "auto_map": {"AutoConfig": "configuration_x.X"}}))
    argv = ["run", "--preset", "qwen3vl-2b-8xh100", "--dry-run", "--runs-dir", str(tmp_path / "runs")]
    assert main([*argv, "--set", f"model.path={model}"]) == 2
    err = capsys.readouterr().err
    assert f"{model / file} has an auto_map" in err and "trust_remote_code=True" in err
