"""Checkpoints hold plain data only and load with weights_only=True: a crafted file is refused, never executed;
saves are atomic and fail cleanly; resume finds the newest intact checkpoint when latest.json cannot be followed."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from npo_bench.errors import UserError
from npo_bench.testing import make_trajectory
from npo_bench.trainer import checkpoints
from npo_bench.trainer.checkpoints import (
    LATEST,
    STATE_FILE,
    CorruptCheckpoint,
    capture_rng,
    latest_checkpoint,
    load_trainer_state,
    restore_rng,
    resume_candidates,
    save_checkpoint,
)
from npo_bench.types import CheckpointRef


class TinyModel:
    """Stands in for a transformers model: ``save_pretrained`` writes one safetensors file."""

    def __init__(self, value: float = 1.0):
        self.weight = torch.full((4,), value)

    def save_pretrained(self, folder: Path) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        save_file({"weight": self.weight}, str(folder / "model.safetensors"))


def state(step: int, **extra) -> dict:
    return {
        "step": step,
        "updates": step,
        "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "betas": (0.9, 0.99), "params": [0]}]},
        "rng": capture_rng(),
        "source": {},
        "metrics_lines": step,
        "events_lines": 0,
        **extra,
    }


class Payload:
    """Unpickling this runs ``touch MARKER``: what a crafted checkpoint would do under weights_only=False."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (subprocess.call, (["touch", str(self.marker)],))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_crafted_checkpoint_is_refused_in_one_line_and_never_runs(tmp_path, writer):
    folder = tmp_path / "checkpoints"
    ref = save_checkpoint(folder, "step-000001", TinyModel(), None, state(1))
    marker = tmp_path / "pwned"
    crafted = {**state(1), "source": {"x": Payload(marker)}}
    if writer == "torch.save":
        torch.save(crafted, ref.path / STATE_FILE)
    else:
        with (ref.path / STATE_FILE).open("wb") as handle:
            pickle.dump(crafted, handle, protocol=2)
    with pytest.raises(CorruptCheckpoint) as caught:
        load_trainer_state(ref)
    message = str(caught.value)
    assert str(ref.path / STATE_FILE) in message and "refusing to load" in message
    assert "\n" not in message
    assert not marker.exists()  # the payload did not run
    # the same file under the unsafe loader would have run it: the test's payload is real
    with contextlib.suppress(Exception):  # a raw pickle then fails torch's magic-number check, after running
        torch.load(ref.path / STATE_FILE, weights_only=False)
    assert marker.exists()


def test_rng_states_are_plain_and_round_trip_through_a_weights_only_load(tmp_path):
    random.seed(3)
    np.random.seed(4)
    torch.manual_seed(5)
    np.random.standard_normal()  # leaves a cached gaussian in numpy's state
    saved = capture_rng()
    torch.save(saved, tmp_path / "rng.pt")
    expected = (random.random(), np.random.standard_normal(), float(torch.rand(1)))
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    restore_rng(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert (random.random(), np.random.standard_normal(), float(torch.rand(1))) == expected


def test_non_plain_state_is_refused_before_anything_is_written(tmp_path):
    folder = tmp_path / "checkpoints"
    bad = state(1, source={"cache": {"p0": make_trajectory("p0", True)}})
    with pytest.raises(UserError, match=r"trainer state\['source'\]\['cache'\]\['p0'\] is a Trajectory"):
        save_checkpoint(folder, "step-000001", TinyModel(), None, bad)
    assert not folder.exists() or not any(folder.iterdir())


def test_a_full_disk_during_a_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    folder = tmp_path / "run" / "checkpoints"
    first = save_checkpoint(folder, "step-000001", TinyModel(1.0), None, state(1))

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoints.torch, "save", disk_full)
    with pytest.raises(UserError) as caught:
        save_checkpoint(folder, "step-000002", TinyModel(2.0), None, state(2))
    message = str(caught.value)
    assert "cannot write checkpoint" in message and "No space left on device" in message
    assert f"npo-bench run --resume {tmp_path / 'run'}" in message and "\n" not in message
    assert sorted(p.name for p in folder.iterdir()) == [LATEST, "step-000001"]  # no partial folder left
    assert latest_checkpoint(folder) == first


def _three_checkpoints(folder: Path) -> list[CheckpointRef]:
    return [save_checkpoint(folder, f"step-00000{i}", TinyModel(float(i)), None, state(i)) for i in (1, 2, 3)]


def test_latest_json_missing_or_corrupt_falls_back_to_the_newest_intact_checkpoint(tmp_path):
    folder = tmp_path / "checkpoints"
    refs = _three_checkpoints(folder)
    assert resume_candidates(folder) == (refs[::-1], None)
    (folder / LATEST).unlink()
    candidates, problem = resume_candidates(folder)
    assert [c.tag for c in candidates] == ["step-000003", "step-000002", "step-000001"]
    assert problem == f"{LATEST} is missing"
    (folder / LATEST).write_text("{not json")
    candidates, problem = resume_candidates(folder)
    assert candidates[0].tag == "step-000003" and problem.startswith(f"{LATEST} is corrupt")
    (folder / LATEST).write_text(json.dumps({"tag": "../../etc", "step": 1}))
    assert resume_candidates(folder)[0][0].tag == "step-000003"
    # a hidden name is a save's staging or trash folder (a kill mid-save can leave one with a whole manifest)
    shutil.copytree(refs[0].path, folder / ".step-000004.partial")
    (folder / LATEST).write_text(json.dumps({"tag": ".step-000004.partial", "step": 4}))
    candidates, problem = resume_candidates(folder)
    assert candidates[0].tag == "step-000003" and problem.startswith(f"{LATEST} is corrupt (bad tag")


def test_a_truncated_or_incomplete_latest_checkpoint_is_passed_over(tmp_path):
    folder = tmp_path / "checkpoints"
    refs = _three_checkpoints(folder)
    state_file = refs[2].path / STATE_FILE
    state_file.write_bytes(state_file.read_bytes()[:100])  # a torn write
    candidates, problem = resume_candidates(folder)
    assert [c.tag for c in candidates] == ["step-000002", "step-000001"]
    assert problem == f"{LATEST} names step-000003, but {STATE_FILE} has 100 bytes, {_written(refs[2])} were written"
    (refs[1].path / "model.safetensors").unlink()
    assert [c.tag for c in resume_candidates(folder)[0]] == ["step-000001"]


def _written(ref: CheckpointRef) -> int:
    return json.loads((ref.path / "checkpoint.json").read_text())["files"][STATE_FILE]


def test_contents_corrupt_at_the_right_size_are_caught_when_loading(tmp_path):
    folder = tmp_path / "checkpoints"
    ref = _three_checkpoints(folder)[2]
    size = (ref.path / STATE_FILE).stat().st_size
    (ref.path / STATE_FILE).write_bytes(b"\0" * size)
    assert resume_candidates(folder)[0][0] == ref  # sizes match: only loading can tell
    with pytest.raises(CorruptCheckpoint, match="is corrupt"):
        load_trainer_state(ref)


def test_save_sequence_orders_checkpoints_in_time_not_by_step(tmp_path):
    """After a rollback a lower step is saved later: it is the newer state (AutoNPO replays over old tags)."""
    folder = tmp_path / "checkpoints"
    save_checkpoint(folder, "step-000050", TinyModel(), None, state(50))
    save_checkpoint(folder, "npo-snapshot-000040", TinyModel(), None, state(40))
    (folder / LATEST).unlink()
    assert [c.tag for c in resume_candidates(folder)[0]] == ["npo-snapshot-000040", "step-000050"]
    assert save_checkpoint(folder, "step-000045", TinyModel(), None, state(45)).tag == "step-000045"
    assert json.loads((folder / LATEST).read_text())["seq"] == 3
