"""Resume edge cases: a finished run resumes to itself, a missing or corrupt newest checkpoint falls back to the
newest intact one (and says so) with the same end result, and metrics that cannot be replaced are never truncated."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest

from npo_bench.errors import UserError
from npo_bench.presets import resolve
from npo_bench.runs import RunDir
from npo_bench.testing import without_timings
from npo_bench.trainer.checkpoints import LATEST, STATE_FILE, latest_checkpoint, load_weights
from npo_bench.trainer.loop import Run, create_run

pytestmark = pytest.mark.slow


def _config(cache: Path, runs: Path, name: str):
    config = resolve("micro")
    config.cache_dir, config.runs_dir, config.name = str(cache), str(runs), name
    return config


def _execute(config, run: RunDir, resume: bool, log: list[str] | None = None) -> dict[str, float]:
    sink = log.append if log is not None else (lambda _: None)
    return Run(config, run, log=sink, show_progress=False).execute(resume=resume)


@pytest.fixture(scope="module")
def finished(micro_base, session_cache, tmp_path_factory):
    """A finished micro run (6 steps; checkpoints at 0, 3 and 6) and its final scores."""
    runs = tmp_path_factory.mktemp("edges")
    config = _config(session_cache, runs, "straight")
    run = create_run(config, {})
    final = _execute(config, run, resume=False)
    return run.path, final


def _copy(finished_path: Path, tmp_path: Path, session_cache: Path):
    target = tmp_path / "runs" / "copy"
    shutil.copytree(finished_path, target)
    config = _config(session_cache, tmp_path / "runs", "copy")
    return config, RunDir.open(target)


def test_resuming_a_finished_run_changes_nothing(finished, tmp_path, session_cache):
    path, final = finished
    config, run = _copy(path, tmp_path, session_cache)
    meta = json.loads((run.path / "meta.json").read_text())
    meta["ended"] = None  # killed right after the final checkpoint, before the end was recorded
    (run.path / "meta.json").write_text(json.dumps(meta))
    before = (run.path / "metrics.jsonl").read_bytes()
    log: list[str] = []
    for _ in range(2):
        assert _execute(config, run, resume=True, log=log) == final
    assert (run.path / "metrics.jsonl").read_bytes() == before  # no duplicate final eval line
    assert any("already finished (step 6)" in line for line in log)


@pytest.mark.parametrize("damage", ["latest.json missing", "newest checkpoint zeroed", "newest checkpoint crafted"])
def test_a_lost_or_corrupt_newest_checkpoint_falls_back_and_ends_the_same(damage, finished, tmp_path, session_cache):
    path, final = finished
    config, run = _copy(path, tmp_path, session_cache)
    # as if killed during step 5: the log has gone past the newest checkpoint we leave intact (step 3)
    lines = (run.path / "metrics.jsonl").read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if json.loads(line).get("step") == 5)
    (run.path / "metrics.jsonl").write_text("\n".join(lines[:cut]) + "\n")
    newest = run.checkpoints / "step-000006"
    marker = tmp_path / "payload-ran"
    if damage == "latest.json missing":
        (run.checkpoints / LATEST).unlink()
        shutil.rmtree(newest)
    elif damage == "newest checkpoint zeroed":
        size = (newest / STATE_FILE).stat().st_size
        (newest / STATE_FILE).write_bytes(b"\0" * size)
    else:

        class Payload:
            def __reduce__(self):
                return (subprocess.call, (["touch", str(marker)],))

        data = pickle.dumps({"step": 6, "x": Payload()}, protocol=2)
        (newest / STATE_FILE).write_bytes(data)
        manifest = json.loads((newest / "checkpoint.json").read_text())
        manifest["files"][STATE_FILE] = len(data)  # a careful attacker fixes the manifest too
        (newest / "checkpoint.json").write_text(json.dumps(manifest))
    log: list[str] = []
    assert _execute(config, run, resume=True, log=log) == final
    assert not marker.exists()
    assert any("resuming from step-000003" in line for line in log), log
    if damage == "newest checkpoint crafted":
        assert any("refusing to load" in line and str(newest / STATE_FILE) in line for line in log), log
    straight = RunDir.open(path)
    assert without_timings(run.metrics.read()) == without_timings(straight.metrics.read())
    a, b = load_weights(latest_checkpoint(straight.checkpoints)), load_weights(latest_checkpoint(run.checkpoints))
    assert a.keys() == b.keys() and all((a[k] - b[k]).abs().max().item() <= 1e-6 for k in a)


def test_metrics_without_any_intact_checkpoint_are_never_truncated(finished, tmp_path, session_cache):
    path, _ = finished
    config, run = _copy(path, tmp_path, session_cache)
    shutil.rmtree(run.checkpoints)
    before = (run.path / "metrics.jsonl").read_bytes()
    with pytest.raises(UserError, match="no intact checkpoint to resume from, but metrics.jsonl holds 6 training"):
        _execute(config, run, resume=True)
    assert (run.path / "metrics.jsonl").read_bytes() == before
    assert run.path.exists()  # a resumed run is never discarded
