"""DeepSpeed reads its checkpoint shards with ``torch.load(weights_only=False)``; a rollback or resume of an openrlhf
run reads them from the run directory, which is untrusted input. ``load_tagged`` forces every load of the call to
``weights_only=True``: a crafted shard is refused and never runs, a real shard still loads."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import torch
from deepspeed.runtime.checkpoint_engine.torch_checkpoint_engine import TorchCheckpointEngine

from npo_bench_plugins.openrlhf.policy_actor import forced_weights_only


class Payload:
    """Unpickling this runs ``touch MARKER``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (subprocess.call, (["touch", str(self.marker)],))


def test_a_crafted_deepspeed_shard_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    shard = tmp_path / "mp_rank_00_model_states.pt"
    torch.save({"module": {"w": torch.ones(2)}, "client_state": Payload(marker)}, shard)
    engine = TorchCheckpointEngine()
    with forced_weights_only(), pytest.raises(Exception, match="Weights only load failed"):
        engine.load(str(shard))
    assert not marker.exists()
    engine.load(str(shard))  # DeepSpeed's own call, unforced: the payload is real and runs
    assert marker.exists()


def test_a_plain_shard_loads_and_the_environment_is_restored(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", raising=False)
    shard = tmp_path / "mp_rank_00_model_states.pt"
    torch.save({"module": {"w": torch.arange(3.0)}, "global_steps": 4, "ds_version": "0.18"}, shard)
    with forced_weights_only():
        loaded = TorchCheckpointEngine().load(str(shard))
    assert loaded["global_steps"] == 4 and torch.equal(loaded["module"]["w"], torch.arange(3.0))
    assert "TORCH_FORCE_WEIGHTS_ONLY_LOAD" not in os.environ
