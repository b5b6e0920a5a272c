"""The ``backend_options`` of the ``openrlhf`` backend: cluster shape, engine settings and OpenRLHF pass-through flags.

Kept free of OpenRLHF imports: ``npo-bench run --dry-run`` and ``npo-bench config`` read it on any machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from npo_bench.errors import UserError, did_you_mean

# name: (default, meaning) — the same shape as a guidance source's ``options`` (listed by docs/backends.md)
OPTIONS: dict[str, tuple[Any, str]] = {
    "device": ("cuda", "cuda | cpu (cpu: OpenRLHF's loop at micro scale through the CPU shim and HF rollout engines)"),
    "nodes": (1, "actor nodes (--actor.num_nodes)"),
    "gpus_per_node": (8, "GPUs per actor node (--actor.num_gpus_per_node)"),
    "vllm_engines": (None, "vLLM rollout engines (empty = nodes × gpus_per_node / vllm_tensor_parallel)"),
    "vllm_tensor_parallel": (1, "GPUs per vLLM engine (--vllm.tensor_parallel_size)"),
    "vllm_gpu_memory_utilization": (0.6, "fraction of GPU memory vLLM may take (colocated with DeepSpeed)"),
    "colocate": (True, "actor and vLLM engines share the GPUs, sleeping in turn (--train.colocate_all)"),
    "zero_stage": (3, "DeepSpeed ZeRO stage (3 shards an 8B actor + AdamW over the GPUs)"),
    "param_dtype": ("bf16", "DeepSpeed parameter dtype: bf16 | fp16 (OpenRLHF's Actor accepts only these)"),
    "attn_implementation": ("flash_attention_2", "attention kernel of the DeepSpeed actor"),
    "gradient_checkpointing": (True, "activation checkpointing in the actor (--actor.gradient_checkpointing_enable)"),
    "micro_train_batch_size": (4, "sequences per forward/backward on each GPU (--train.micro_batch_size)"),
    "micro_rollout_batch_size": (8, "sequences per log-prob forward on each GPU (--rollout.micro_batch_size)"),
    "max_len": (8192, "prompt + response tokens cap of the engines (--data.max_len)"),
    "freeze_visual_encoder": (False, "train the language model only (--actor.freeze_visual_encoder)"),
    "check_restores": (
        False,
        "fingerprint every save and check every restore: weights bit-identical to the anchor (else stop), engines "
        "sampling with the restored weights (greedy answers to fixed prompts), the data cursor (restore_check events)",
    ),
    "check_prompts": (4, "training prompts the restore check samples greedily"),
    "ray_address": (None, "Ray cluster to join (empty = $RAY_ADDRESS, else a local Ray started by the launch)"),
    "flags": ({}, "any other OpenRLHF flag, passed through unchanged: {'--vllm.enforce_eager': true, ...}"),
}

# Settings OpenRLHF offers that cannot be honoured with a guidance source, each with the one-line reason.
# Keyed by flag; a value maps to the setting's "on" test.
REFUSED: dict[str, str] = {
    "--train.async_enable": "async generation runs ahead of the trainer, so a rollback would replay stale rollouts "
    "and guidance would land in groups sampled by older weights",
    "--train.partial_rollout_enable": "partial rollouts need async generation (refused: rollbacks)",
    "--algo.dynamic_filtering_enable": "dynamic filtering drops whole groups after generation, before the source "
    "sees them: NPO's p̂ ≤ τ_gate groups are exactly the ones it drops",
    "--train.enable_ema": "an EMA copy of the actor is not rolled back with the anchor and would leak future weights",
    "--algo.advantage.is_correction_level": "vLLM/DeepSpeed IS correction masks ratios outside its band, which "
    "deletes guide tokens (π_θ/π_vllm of an injected trajectory is arbitrary); keep it 'off'",
    "--train.dynamic_batch_enable": "dynamic batching re-splits rows by length across micro-batches after the "
    "guided maker attached loss modes; use fixed micro-batches",
    "--ds.packing_samples": "packing collapses the batch dimension that carries each row's loss mode (and OpenRLHF "
    "refuses it for VLMs)",
    "--rollout.vllm_generate_batch_size": "over-sampling buffers rollouts across steps (needs async)",
    "--ckpt.load_enable": "OpenRLHF's own resume reads its DeepSpeed files unguarded (torch.load weights_only=False) "
    "and bypasses npo-bench's step, data cursor and source state; use npo-bench run --resume",
}

# Flags npo-bench owns: passing them through would silently disagree with the run's config.
OWNED_HINTS: dict[str, str] = {
    "--rollout.n_samples_per_prompt": "rollout.n",
    "--rollout.batch_size": "rollout.prompts_per_step",
    "--train.batch_size": "trainer.mini_batches",
    "--actor.eps_clip_low_high": "trainer.clip_eps_low / trainer.clip_eps_high",
    "--actor.loss_agg_mode": "trainer.loss_agg",
    "--algo.advantage.estimator": "trainer.advantage",
    "--actor.adam.lr": "trainer.lr",
    "--actor.model_name_or_path": "model.path",
    "--data.prompt_dataset": "task.benchmark (the launcher exports the prompts)",
    "--train.agent_func_path": "the verifier (rewards come from npo-bench's verifiers)",
    "--reward.remote_url": "the verifier (rewards come from npo-bench's verifiers)",
    "--algo.kl.init_coef": "trainer.kl_coef",
    "--rollout.temperature": "rollout.temperature",
    "--rollout.max_new_tokens": "rollout.max_new_tokens",
    "--ckpt.path": "the run directory",
    "--train.seed": "seed",
}


def resolve_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with defaults filled in; unknown names, refused or npo-bench-owned pass-through flags are errors."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UserError(
            f"backend 'openrlhf': unknown backend_options {unknown}",
            hint=did_you_mean(unknown[0], list(OPTIONS)) or f"known: {', '.join(OPTIONS)}",
        )
    opts = {name: options.get(name, default) for name, (default, _) in OPTIONS.items()}
    flags = opts["flags"]
    if not isinstance(flags, Mapping):
        raise UserError("backend 'openrlhf': backend_options.flags must be a mapping of --flag: value")
    opts["flags"] = {_dashed(str(k)): v for k, v in flags.items()}
    for flag, value in opts["flags"].items():
        check_refused(flag, value)
        if flag in OWNED_HINTS:
            raise UserError(
                f"backend 'openrlhf': {flag} is set from the run's config, not passed through",
                hint=f"set {OWNED_HINTS[flag]} instead",
            )
    for positive in (
        "nodes",
        "gpus_per_node",
        "vllm_tensor_parallel",
        "micro_train_batch_size",
        "max_len",
        "check_prompts",
    ):
        if not isinstance(opts[positive], int) or opts[positive] < 1:
            raise UserError(f"backend 'openrlhf': backend_options.{positive} must be a positive integer")
    if opts["device"] not in ("cuda", "cpu"):
        raise UserError(f"backend 'openrlhf': backend_options.device must be cuda or cpu, not {opts['device']!r}")
    if opts["device"] == "cpu" and opts["colocate"]:
        raise UserError(
            "backend 'openrlhf': backend_options.device=cpu needs colocate: false "
            "(colocation shares GPUs between DeepSpeed and the engines through CUDA IPC)"
        )
    if opts["device"] == "cpu" and "flash" in str(opts["attn_implementation"]):
        raise UserError("backend 'openrlhf': backend_options.device=cpu needs attn_implementation: sdpa (or eager)")
    if opts["param_dtype"] not in ("bf16", "fp16"):
        raise UserError("backend 'openrlhf': backend_options.param_dtype must be bf16 or fp16 (OpenRLHF's Actor)")
    return opts


def check_refused(flag: str, value: Any) -> None:
    """One clear line for a setting OpenRLHF cannot honour with a guidance source."""
    reason = REFUSED.get(flag)
    if reason is None or not _is_on(flag, value):
        return
    raise UserError(f"backend 'openrlhf' refuses {flag} {value!r}: {reason}")


def _is_on(flag: str, value: Any) -> bool:
    if flag == "--algo.advantage.is_correction_level":
        return str(value) != "off"
    if flag == "--rollout.vllm_generate_batch_size":
        return value is not None
    return value not in (False, None, 0, "false", "False")


def _dashed(flag: str) -> str:
    return flag if flag.startswith("--") else f"--{flag}"
