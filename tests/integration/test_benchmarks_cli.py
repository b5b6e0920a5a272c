"""``npo-bench eval`` / ``npo-bench benchmarks`` with the multimodal benchmarks: bad input is one clear line,
``--skip-bad`` counts and reports, and ``--benchmarks all`` runs end to end on the micro checkpoint (slow)."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "benchmarks"))
import benchmark_fixtures  # noqa: E402

from npo_bench.cli import main  # noqa: E402
from npo_bench.host import get_host  # noqa: E402

FILE_BENCHMARKS = [name for name in get_host().registry("benchmark").names() if name != "synthetic"]


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture
def fake_model(tmp_path) -> Path:
    """Enough of a model directory for --model to resolve; data errors surface before any weights are read."""
    path = tmp_path / "model"
    path.mkdir()
    (path / "config.json").write_text("{}")
    return path


@pytest.fixture
def data_dir(tmp_path) -> Path:
    root = tmp_path / "data"
    benchmark_fixtures.write_all(root)
    return root


def test_benchmarks_command_lists_every_benchmark_with_splits(capsys):
    assert main(["benchmarks"]) == 0
    out = capsys.readouterr().out
    assert "mathvista  (mathvista)" in out and "splits: testmini, test  [default: testmini]" in out
    for name in FILE_BENCHMARKS:
        assert f"{name}  (" in out


def test_unknown_benchmark_and_split_are_one_line(fake_model, capsys):
    assert main(["eval", "--model", str(fake_model), "--benchmarks", "mathvsta"]) == 2
    assert "unknown benchmark 'mathvsta' (did you mean 'mathvista'" in _error_line(capsys)
    args = ["eval", "--model", str(fake_model), "--benchmarks", "mathvista", "--split", "mathvista=dev"]
    assert main(args) == 2
    assert "benchmark 'mathvista' has no split 'dev'" in _error_line(capsys)
    assert main(["eval", "--model", str(fake_model), "--benchmarks", "synthetic", "--data", "synthetic=x"]) == 2
    assert "benchmark 'synthetic' reads no data files" in _error_line(capsys)


def test_missing_image_is_one_line_and_skip_bad_reports(fake_model, data_dir, capsys):
    (data_dir / "mathvista" / "images" / "testmini-3-image.png").unlink()
    args = ["eval", "--model", str(fake_model), "--benchmarks", "mathvista", "--data-dir", str(data_dir)]
    assert main(args) == 2
    assert "testmini.jsonl row 4: field 'image': image file" in _error_line(capsys)
    with contextlib.suppress(Exception):  # past the data checks the fake model cannot load: the skip was accepted
        main([*args, "--skip-bad"])
    assert "image file" not in capsys.readouterr().err


@pytest.mark.slow
def test_eval_all_end_to_end_on_the_micro_checkpoint(micro_base, data_dir, tmp_path, capsys):
    (data_dir / "mathvista" / "images" / "testmini-3-image.png").unlink()  # one bad row, skipped and reported
    out = tmp_path / "eval"
    args = ["eval", "--preset", "micro", "--model", str(micro_base), "--benchmarks", "all", "--data-dir"]
    code = main([*args, str(data_dir), "--limit", "6", "--batch-size", "4", "--out", str(out), "--skip-bad"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "skipped 1 bad row(s); first:" in captured.err and "testmini.jsonl row 4" in captured.err
    for name in [*FILE_BENCHMARKS, "synthetic"]:
        result = json.loads((out / f"{name}.json").read_text())
        assert f"{name}:" in captured.out and 0.0 <= result["scores"]["accuracy"] <= 1.0
        item = result["items"][0]
        assert {"id", "prompt", "response", "extracted", "gold", "verdict", "rule"} <= set(item)
    mathvista = json.loads((out / "mathvista.json").read_text())
    assert len(mathvista["skipped"]) == 1 and len({i["id"] for i in mathvista["items"]}) == 6
