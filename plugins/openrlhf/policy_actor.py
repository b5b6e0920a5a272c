"""``GuidedPolicyModelActor``: OpenRLHF's policy actor (DeepSpeed, one per GPU) with the guided loss, tagged
checkpoints that are never rotated away, and the forwards a guidance source asks for.

The stock ``init_model_from_pretrained`` builds everything (DeepSpeed engine, ``ActorPPOTrainer`` and its NCCL group
to the engines); afterwards the trainer's loss is swapped for ``GuidedPolicyLoss`` and its ``training_step`` wrapped to
hand each micro-batch's loss modes to the loss. ``ActorPPOTrainer`` is not rebuilt (its ``__init__`` would set up the
weight-sync group a second time).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ray
import torch
from openrlhf.trainer.ray.ppo_actor import PolicyModelActor

from npo_bench_plugins.openrlhf.job import current_job
from npo_bench_plugins.openrlhf.loss import GuidedPolicyLoss, row_modes
from npo_bench_plugins.openrlhf.processors import register_torchvision_free_processors

SUPPRESSED = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>", "<|im_start|>", "<pad>")


def guided_loss_for(trainer: Any, is_cap: float, shaping_gamma: float) -> GuidedPolicyLoss:
    """A ``GuidedPolicyLoss`` with the stock loss's own settings (built from the same parsed args)."""
    stock = trainer.actor_loss_fn
    return GuidedPolicyLoss(
        is_cap=is_cap,
        shaping_gamma=shaping_gamma,
        clip_eps_low=stock.clip_eps_low,
        clip_eps_high=stock.clip_eps_high,
        dual_clip=stock.dual_clip,
        token_level_loss=stock.token_level_loss,
        policy_loss_type=stock.policy_loss_type,
        is_correction_level=stock.is_correction_level,
    )


def install_guided_loss(trainer: Any, is_cap: float, shaping_gamma: float) -> None:
    """Swap ``trainer.actor_loss_fn``; wrap ``trainer.training_step`` so each micro-batch's rows carry their modes."""
    trainer.actor_loss_fn = guided_loss_for(trainer, is_cap, shaping_gamma)
    stock_step = trainer.training_step

    def training_step(experience, kl_ctl, step, loss_batch_info=None):
        trainer.actor_loss_fn.rows = row_modes(experience.info, experience.rollout_log_probs)
        return stock_step(experience, kl_ctl, step, loss_batch_info)

    trainer.training_step = training_step


def suppress_special_tokens(model: Any, tokenizer: Any) -> list[int]:
    """Give image placeholders and chat markers no probability in every forward, as the embedded backend's sampler
    and log-probs do (``Policy.suppress_ids``), so both backends train the same distribution."""
    vocab = tokenizer.get_vocab()
    ids = sorted(vocab[name] for name in SUPPRESSED if name in vocab)
    if not ids:
        return ids

    def hook(module, args, output):
        output["logits"][..., ids] = -1e9
        return output

    model.register_forward_hook(hook)
    return ids


class GuidedPolicyModelActorBase(PolicyModelActor.__ray_actor_class__):
    def init_model_from_pretrained(self, strategy, pretrain, max_steps=None, vllm_engines=None):
        register_torchvision_free_processors()
        super().init_model_from_pretrained(strategy, pretrain, max_steps, vllm_engines)
        t = current_job().config.trainer
        install_guided_loss(self.trainer, t.is_cap, t.shaping_gamma)
        inner = getattr(self.tokenizer, "tokenizer", self.tokenizer)
        self.suppressed = suppress_special_tokens(self._module(), inner)

    def _module(self) -> torch.nn.Module:
        model = self.actor.model
        return getattr(model, "module", model)

    # ---- tagged checkpoints (every rank; never rotated) ----------------------------------------------------------
    def save_tagged(self, folder: str, tag: str, client_states: dict | None = None) -> None:
        """DeepSpeed state (weights, optimizer, scheduler) under ``folder/tag`` + a loadable HF model in ``folder``'s
        parent. ``max_num`` is unbounded: OpenRLHF's rotation must never delete an NPO anchor."""
        self.strategy.save_ckpt(
            self.actor.model, folder, tag, max_num=sys.maxsize, max_mem=math.inf, client_state=client_states or {}
        )
        self.strategy.save_model(self.actor, self.tokenizer, str(Path(folder).parent))

    def load_tagged(self, folder: str, tag: str) -> dict:
        """Load DeepSpeed's state of ``tag``. DeepSpeed reads its files with ``torch.load(weights_only=False)``;
        a run directory is untrusted input (docs/run-directories.md), so every ``torch.load`` of the call is forced
        to ``weights_only=True``: a crafted shard is refused, never executed."""
        with forced_weights_only():
            _, states = self.strategy.load_ckpt(self.actor.model, folder, tag=tag)
        return states

    def stash_weights(self) -> None:
        """Keep a CPU copy of the current weights (ZeRO-3: gathered) to come back to after sampling a checkpoint."""
        import deepspeed

        module = self._module()
        with deepspeed.zero.GatheredParameters(
            list(module.parameters()), enabled=self.strategy.args.ds.zero_stage == 3
        ):
            self._stash = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}

    def load_hf_weights(self, folder: str | None) -> None:
        """Load a saved HF model's weights (``None`` = the stash) into the DeepSpeed module on every rank."""
        import deepspeed
        from safetensors.torch import load_file

        weights = self._stash if folder is None else {}
        if folder is not None:
            for file in sorted(Path(folder).glob("*.safetensors")):
                weights.update(load_file(file))
        module = self._module()
        params = list(module.parameters())
        with deepspeed.zero.GatheredParameters(params, modifier_rank=0, enabled=self.strategy.args.ds.zero_stage == 3):
            result = module.load_state_dict(weights, strict=False)
            state = module.state_dict()
            loaded = {state[k].data_ptr() for k in weights if k in state}
            missing = [k for k in result.missing_keys if state[k].data_ptr() not in loaded]  # tied copies are fine
        if result.unexpected_keys or missing:  # strict=False must not silently keep the current weights
            raise RuntimeError(
                f"weights from {folder or 'the stash'} do not fit the actor: unexpected {result.unexpected_keys[:3]}, "
                f"missing {missing[:3]}"
            )
        if folder is None:
            self._stash = None

    def weights_digest(self) -> str:
        """A hash of the full weights (for the GPU check that a restore is bit-identical to its anchor)."""
        import hashlib

        import deepspeed

        module = self._module()
        digest = hashlib.sha256()
        with deepspeed.zero.GatheredParameters(
            list(module.parameters()), enabled=self.strategy.args.ds.zero_stage == 3
        ):
            for name, value in sorted(module.state_dict().items()):
                digest.update(name.encode())
                digest.update(value.detach().float().cpu().numpy().tobytes())
        return digest.hexdigest()

    def token_stats(self, sequences, action_mask, attention_mask, mm_train_inputs_list=None, with_entropy=False):
        """(log-probs (B, A), entropies (B, A) or None) of the current weights, without gradient."""
        from openrlhf.utils.vlm_utils import merge_mm_train_inputs

        device = torch.cuda.current_device() if torch.cuda.is_available() else "cpu"
        mm_inputs = {}
        if mm_train_inputs_list and getattr(self.actor, "is_vlm", False):
            mm_inputs = merge_mm_train_inputs(mm_train_inputs_list, device)
        self.actor.eval()
        with torch.no_grad():
            logprobs, output = self.actor(
                sequences.to(device),
                action_mask.to(device),
                attention_mask.to(device),
                return_output=True,
                return_entropy=with_entropy,
                **mm_inputs,
            )
        self.actor.train()
        entropy = output.entropy[:, -action_mask.shape[1] :].cpu() if with_entropy else None
        return logprobs.cpu(), entropy


GuidedPolicyModelActor = ray.remote(num_gpus=1)(GuidedPolicyModelActorBase)


def deepspeed_state_classes() -> list[type]:
    """The DeepSpeed classes a ZeRO checkpoint pickles besides tensors and plain data (stage 1/2/3 and the bf16
    optimizer's ``state_dict``: the stage enum, the loss scaler, the parameter-slice addresses). Plain-data classes
    whose unpickling only sets attributes; nothing else is allowed."""
    from deepspeed.runtime.fp16.loss_scaler import DynamicLossScaler, LossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum
    from deepspeed.utils.tensor_fragment import fragment_address

    return [ZeroStageEnum, LossScaler, DynamicLossScaler, fragment_address]


@contextlib.contextmanager
def forced_weights_only() -> Iterator[None]:
    """Every ``torch.load`` inside is ``weights_only=True``, whatever its caller passed (torch reads
    ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` at each call), with DeepSpeed's own state classes allowed."""
    saved = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        with torch.serialization.safe_globals(deepspeed_state_classes()):
            yield
    finally:
        if saved is None:
            del os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"]
        else:
            os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = saved
