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


def test_a_zero_optimizer_state_loads_with_its_deepspeed_objects(tmp_path):
    """What ZeRO stage 1/2/3 and the bf16 optimizer put in their ``state_dict`` besides tensors (stage_1_and_2.py
    ``state_dict``: the loss scaler, the stage enum, the parameter-slice mappings), built with DeepSpeed's own
    factories: refused by a bare weights-only load, loaded — equal — under ``forced_weights_only``."""
    from collections import OrderedDict

    from deepspeed.runtime.fp16.loss_scaler import CreateLossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum
    from deepspeed.utils.tensor_fragment import fragment_address

    dynamic = {"init_scale": 2**16, "scale_window": 1000, "min_scale": 1, "delayed_shift": 2}
    state = {
        "loss_scaler": CreateLossScaler(torch.half, 0, True, {**dynamic, "consecutive_hysteresis": False}),
        "static_scaler": CreateLossScaler(torch.bfloat16, 0, False, None),
        "zero_stage": ZeroStageEnum.gradients,
        "param_slice_mappings": [OrderedDict(w=fragment_address(numel=6, start=0))],
        "single_partition_of_fp32_groups": [torch.arange(6.0)],
        "ds_version": "0.19.6",
    }
    shard = tmp_path / "zero_pp_rank_0_mp_rank_00_optim_states.pt"
    torch.save({"optimizer_state_dict": state}, shard)
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(shard, weights_only=True)
    with forced_weights_only():
        loaded = TorchCheckpointEngine().load(str(shard))["optimizer_state_dict"]
    assert loaded["zero_stage"] is ZeroStageEnum.gradients
    assert vars(loaded["loss_scaler"]) == vars(state["loss_scaler"]) and loaded["loss_scaler"].cur_scale == 2**16
    assert vars(loaded["static_scaler"]) == vars(state["static_scaler"])
    assert loaded["param_slice_mappings"] == state["param_slice_mappings"]
