"""CPU shim: OpenRLHF 0.11.2's whole PPO loop on a machine without CUDA, at micro scale (tests and ``device: cpu``).

OpenRLHF assumes CUDA in a handful of device calls that have nothing to do with the algorithm. This module redirects
exactly those to the CPU and gloo, in every process of a CPU run (the launcher registers :func:`install` as Ray's
``worker_process_setup_hook``); every OpenRLHF class of the loop — ``PPOTrainer``, ``PolicyModelActor``,
``ActorPPOTrainer``, ``DeepspeedStrategy`` (DeepSpeed's CPU accelerator, gloo), ``Experience``,
``NaiveReplayBuffer``, ``PolicyLoss``, ``SamplesGenerator``, ``RolloutRayActor.generate_responses`` — stays the real
one. What is redirected, and where OpenRLHF calls it:

==================================================  =================================================================
CUDA-only call                                      CPU redirect
==================================================  =================================================================
``torch.cuda.set_device`` (deepspeed.py:97)         no-op: one CPU device
``torch.cuda.current_device`` (ppo_actor.py:171,    ``torch.device("cpu")``; ``NaiveReplayBuffer.__init__``
627, replay_buffer.py:40, deepspeed.py:614,633)     (replay_buffer.py:40 formats it into ``cuda:N``) keeps CPU
``torch.cuda.synchronize`` (distributed_util.py:10)  no-op (CPU ops are synchronous)
``torch.cuda.current_stream`` (ppo_actor.py:436)    ``None`` (the gloo communicator has no streams)
``init_device_mesh("cuda", …)`` (deepspeed.py:105)  ``init_device_mesh("cpu", …)``
DeepSpeed's FusedAdam (a compiled kernel)           ``torch.optim.AdamW`` (DeepSpeed's own ``torch_adam`` option)
vLLM's ``PyNcclCommunicator`` + ``StatelessProcess  a stateless gloo group (``GlooCommunicator``): DeepSpeed rank 0
Group`` (distributed_util.py:22-25, NCCL)           broadcasts each parameter to the rollout engines over gloo
``@ray.remote(num_gpus=1)`` actors                  Ray started with logical GPUs (``ray_init_kwargs``): placement
                                                    only, nothing runs on a GPU
==================================================  =================================================================

The vLLM engines themselves are replaced by :class:`~npo_bench_plugins.openrlhf.hf_engine.HFRolloutActor` (the same
Ray actor interface, HF ``generate`` on the policy's own weights). Never installed on a machine with CUDA.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

import torch

from npo_bench_plugins.openrlhf import cpu_stubs

CPU = torch.device("cpu")
SETUP_HOOK = "npo_bench_plugins.openrlhf.cpu_shim.install"
_installed = False


class GlooCommunicator:
    """What OpenRLHF uses of vLLM's ``PyNcclCommunicator`` (``broadcast(tensor, src, stream)``), over gloo.

    A group of its own (a TCPStore at the trainer's address, ``ProcessGroupGloo``), separate from DeepSpeed's default
    process group — as the NCCL communicator it stands in for is."""

    def __init__(self, group: StatelessProcessGroup, device: Any = None) -> None:
        import torch.distributed as dist

        self.rank, self.world_size = group.rank, group.world_size
        self._group = dist.ProcessGroupGloo(group.store, group.rank, group.world_size, group.timeout)

    def broadcast(self, tensor: torch.Tensor, src: int, stream: Any = None) -> None:
        import torch.distributed as dist

        options = dist.BroadcastOptions()
        options.rootRank = src
        self._group.broadcast([tensor], options).wait()


class StatelessProcessGroup:
    """vLLM's ``StatelessProcessGroup.create(host, port, rank, world_size)``: a TCPStore rendezvous (rank 0 hosts)."""

    def __init__(self, store: Any, rank: int, world_size: int, timeout: datetime.timedelta) -> None:
        self.store, self.rank, self.world_size, self.timeout = store, rank, world_size, timeout

    @classmethod
    def create(cls, host: str, port: int, rank: int, world_size: int, store_timeout: int = 300):
        import torch.distributed as dist

        timeout = datetime.timedelta(seconds=store_timeout)
        store = dist.TCPStore(host, port, world_size, is_master=rank == 0, timeout=timeout)
        return cls(dist.PrefixStore("openrlhf-weight-sync", store), rank, world_size, timeout)


def _cpu_mesh(init_device_mesh):
    @functools.wraps(init_device_mesh)
    def cpu_mesh(device_type: str, *args: Any, **kwargs: Any):
        return init_device_mesh("cpu" if device_type == "cuda" else device_type, *args, **kwargs)

    return cpu_mesh


def _torch_adam(get_ds_train_config):
    @functools.wraps(get_ds_train_config)
    def config(self, *args: Any, **kwargs: Any) -> dict:
        ds_config = get_ds_train_config(self, *args, **kwargs)
        optimizer = ds_config.get("optimizer")
        if optimizer is not None and optimizer.get("type") == "AdamW":
            optimizer["params"]["torch_adam"] = True  # DeepSpeed's switch to torch.optim.AdamW (no FusedAdam build)
        return ds_config

    return config


def _cpu_replay_buffer(init):
    @functools.wraps(init)
    def cpu_init(self, *args: Any, **kwargs: Any) -> None:
        current = torch.cuda.current_device
        torch.cuda.current_device = lambda: 0  # replay_buffer.py:40 formats it into "cuda:{N}"
        try:
            init(self, *args, **kwargs)
        finally:
            torch.cuda.current_device = current
        self.target_device = CPU

    return cpu_init


def install() -> None:
    """Redirect OpenRLHF's CUDA-only device calls to the CPU (idempotent; refuses on a machine with CUDA)."""
    global _installed
    if _installed:
        return
    if torch.cuda.is_available():
        raise RuntimeError("the OpenRLHF CPU shim must not be installed where CUDA is available")
    cpu_stubs.install()
    torch.cuda.set_device = lambda device: None
    torch.cuda.current_device = lambda: CPU
    torch.cuda.synchronize = lambda device=None: None
    torch.cuda.current_stream = lambda device=None: None

    import openrlhf.trainer.ppo_utils.replay_buffer as replay_buffer
    import openrlhf.utils.deepspeed.deepspeed as ds

    ds.init_device_mesh = _cpu_mesh(ds.init_device_mesh)
    ds.DeepspeedStrategy.get_ds_train_config = _torch_adam(ds.DeepspeedStrategy.get_ds_train_config)
    replay_buffer.NaiveReplayBuffer.__init__ = _cpu_replay_buffer(replay_buffer.NaiveReplayBuffer.__init__)
    if cpu_stubs.is_stub("vllm"):
        import sys

        sys.modules["vllm.distributed.utils"].StatelessProcessGroup = StatelessProcessGroup
        sys.modules["vllm.distributed.device_communicators.pynccl"].PyNcclCommunicator = GlooCommunicator
    _installed = True


def ray_init_kwargs(num_cpus: int, gpus: int) -> dict[str, Any]:
    """``ray.init`` arguments of a CPU run: logical GPUs for OpenRLHF's ``num_gpus=1`` placements (nothing runs on a
    GPU), and the shim in every worker process."""
    return {
        "num_cpus": num_cpus,
        "num_gpus": gpus,
        "include_dashboard": False,
        "runtime_env": {"worker_process_setup_hook": SETUP_HOOK},
    }
