"""npo-bench's config → OpenRLHF 0.11.2's dotted command-line flags, and a check of them with the stock parser.

The mapping is one table (``config_flags``); anything else OpenRLHF offers is passed through from
``backend_options.flags``. ``parse_with_stock_parser`` runs OpenRLHF's own ``train_ppo_ray`` ``__main__`` block
(argparse + its validation) and captures the parsed namespace at the first line of ``train()``, so a flag we emit
that OpenRLHF does not accept fails here, before anything starts.
"""

from __future__ import annotations

import contextlib
import io
import math
import runpy
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npo_bench.config import RunConfig
from npo_bench.errors import UserError
from npo_bench_plugins.openrlhf.options import check_refused

ENTRY_MODULE = "openrlhf.cli.train_ppo_ray"
ADVANTAGE_ESTIMATORS = {"mean_std": "group_norm", "mean": "dr_grpo"}  # the guided maker recomputes both exactly
LOSS_AGGREGATION = {"token_mean": "token-mean", "seq_mean_token_mean": "seq-mean-token-mean"}
LR_SCHEDULERS = {"constant": "constant_with_warmup", "cosine": "cosine_with_min_lr"}


@dataclass(frozen=True)
class JobPaths:
    """Files the launcher writes for OpenRLHF (all inside the run directory, which every node must see)."""

    model: Path  # HF model directory of the base policy
    dataset: Path  # jsonl of training prompts (label = npo-bench prompt id)
    agent: Path  # the AgentExecutor file that rewards rollouts with npo-bench's verifier
    deepspeed: Path  # OpenRLHF's own checkpoint folder (unused by npo-bench's loop, kept inside the run)

    @property
    def final_model(self) -> Path:
        """Where the stock ``train()`` saves the actor after ``fit`` (its default is ``./ckpt`` in the cwd)."""
        return self.deepspeed.parent / "final-model"


def config_flags(config: RunConfig, opts: Mapping[str, Any], paths: JobPaths, is_vlm: bool) -> list[str]:
    """The OpenRLHF flags that carry the run's config (group size, clip, loss, lr, lengths, cluster shape)."""
    r, t = config.rollout, config.trainer
    if t.advantage not in ADVANTAGE_ESTIMATORS:
        raise UserError(f"backend 'openrlhf': trainer.advantage={t.advantage!r} has no OpenRLHF estimator")
    if (r.prompts_per_step * r.n) % t.mini_batches:
        raise UserError("backend 'openrlhf': rollout.prompts_per_step × rollout.n must divide by trainer.mini_batches")
    engines = opts["vllm_engines"] or opts["nodes"] * opts["gpus_per_node"] // opts["vllm_tensor_parallel"]
    flags: list[Any] = [
        "--actor.model_name_or_path",
        paths.model,
        "--actor.num_nodes",
        opts["nodes"],
        "--actor.num_gpus_per_node",
        opts["gpus_per_node"],
        "--ref.num_nodes",
        opts["nodes"],
        "--ref.num_gpus_per_node",
        opts["gpus_per_node"],
        "--vllm.num_engines",
        engines,
        "--vllm.tensor_parallel_size",
        opts["vllm_tensor_parallel"],
        "--vllm.gpu_memory_utilization",
        opts["vllm_gpu_memory_utilization"],
        "--ds.zero_stage",
        opts["zero_stage"],
        "--ds.param_dtype",
        opts["param_dtype"],
        "--ds.attn_implementation",
        opts["attn_implementation"],
        # GRPO: n rollouts per prompt, group-relative advantages, no critic
        "--algo.advantage.estimator",
        ADVANTAGE_ESTIMATORS[t.advantage],
        "--rollout.n_samples_per_prompt",
        r.n,
        "--rollout.batch_size",
        r.prompts_per_step,
        "--train.batch_size",
        r.prompts_per_step * r.n // t.mini_batches,
        "--train.micro_batch_size",
        opts["micro_train_batch_size"],
        "--rollout.micro_batch_size",
        opts["micro_rollout_batch_size"],
        "--train.max_epochs",
        1,
        "--train.num_episodes",
        _episodes(config),
        "--rollout.temperature",
        r.temperature,
        "--rollout.top_p",
        r.top_p,
        "--rollout.max_new_tokens",
        r.max_new_tokens,
        "--data.max_len",
        opts["max_len"],
        # the surrogate: DAPO clip-higher, token-mean (or seq-mean-token-mean) aggregation
        "--actor.eps_clip_low_high",
        t.clip_eps_low,
        t.clip_eps_high,
        "--actor.loss_agg_mode",
        LOSS_AGGREGATION[t.loss_agg],
        # AdamW and its schedule (no warm-up, as the embedded backend)
        "--actor.adam.lr",
        t.lr,
        "--actor.adam.betas",
        *t.betas,
        "--actor.adam.weight_decay",
        t.weight_decay,
        "--actor.max_norm",
        t.grad_clip,
        # entropy computed and logged (policy/entropy: AutoNPO's trigger reads it), not in the loss
        "--actor.entropy_coef",
        0.0,
        "--actor.lr_scheduler",
        LR_SCHEDULERS[t.lr_schedule],
        "--actor.lr_warmup_ratio",
        0.0,
        "--actor.min_lr_ratio",
        t.lr_min_ratio,
        "--train.seed",
        config.seed,
        # data: npo-bench exports its prompts; the label is the prompt id (the answer never leaves the verifier)
        "--data.prompt_dataset",
        paths.dataset,
        "--data.input_key",
        "prompt",
        "--data.label_key",
        "label",
        "--data.apply_chat_template",
        # rewards: npo-bench's verifier inside an AgentExecutor (sees the action tokens)
        "--train.agent_func_path",
        paths.agent,
        # checkpoints and evaluation are npo-bench's (tagged, never rotated): OpenRLHF's own are off
        "--ckpt.path",
        paths.deepspeed,
        "--ckpt.save_steps",
        -1,
        "--ckpt.output_dir",
        paths.final_model,
        "--eval.steps",
        -1,
        "--logger.logging_steps",
        1,
    ]
    flags += _kl_flags(t.kl_coef)
    if is_vlm:
        flags += ["--data.image_key", "images", "--data.max_images_per_prompt", 1]
    if opts["colocate"]:
        flags += ["--train.colocate_all", "--vllm.enable_sleep", "--ds.enable_sleep"]
    if opts["device"] == "cpu":  # DeepSpeed rank 0 → rollout engines over gloo (the CPU shim), not NCCL
        flags += ["--vllm.sync_backend", "gloo"]
    if opts["gradient_checkpointing"]:
        flags.append("--actor.gradient_checkpointing_enable")
    if opts["freeze_visual_encoder"]:
        flags.append("--actor.freeze_visual_encoder")
    return [str(flag) for flag in flags]


def _kl_flags(kl_coef: float) -> list[Any]:
    if kl_coef <= 0:
        return ["--algo.kl.init_coef", 0.0]  # no reference model is created
    return ["--algo.kl.use_loss", "--algo.kl.estimator", "k3", "--algo.kl.init_coef", kl_coef]


def _episodes(config: RunConfig) -> int:
    """Episodes over the exported prompts that cover ``trainer.steps`` (OpenRLHF sizes its LR schedule from them;
    npo-bench's loop decides the steps and hands OpenRLHF ``trainer.steps`` as the schedule horizon)."""
    prompts = config.rollout.prompts_per_step * config.trainer.steps
    return max(1, math.ceil(prompts / max(config.task.train_size, 1)))


def pass_through(flags: Mapping[str, Any]) -> list[str]:
    """``{'--vllm.enforce_eager': True, '--x.y': [1, 2], '--z': None}`` → argv tokens (True = bare switch)."""
    out: list[str] = []
    for flag, value in flags.items():
        check_refused(flag, value)
        if value is False or value is None:
            continue
        out.append(flag)
        if value is True:
            continue
        out.extend(str(v) for v in value) if isinstance(value, (list, tuple)) else out.append(str(value))
    return out


def refuse_in_argv(argv: Sequence[str]) -> None:
    """Refused settings that reach the final argv (through pass-through) fail with their one-line reason."""
    for i, token in enumerate(argv):
        if token.startswith("--"):
            value = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("--") else True
            check_refused(token, value)


class _Captured(Exception):
    def __init__(self, args: Any):
        super().__init__("captured")
        self.parsed = args


def parse_with_stock_parser(argv: Sequence[str]) -> Any:
    """OpenRLHF's own parser and validation (``train_ppo_ray``'s ``__main__`` block) on ``argv``; returns the
    hierarchised namespace ``train()`` would receive. Nothing is started: ``ray.is_initialized`` reports True and
    ``get_strategy`` — ``train()``'s first call — raises with the parsed args. Needs openrlhf importable (the CPU
    import stubs are installed where flash-attn has no kernels or vLLM is absent)."""
    from npo_bench_plugins.openrlhf import cpu_stubs

    cpu_stubs.install()
    import openrlhf.utils
    import ray

    def capture(args: Any) -> Any:
        raise _Captured(args)

    saved = sys.argv, ray.is_initialized, openrlhf.utils.get_strategy
    stderr = io.StringIO()
    try:
        sys.argv = ["train_ppo_ray", *argv]
        ray.is_initialized = lambda: True
        openrlhf.utils.get_strategy = capture
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            runpy.run_module(ENTRY_MODULE, run_name="__main__", alter_sys=False)
    except _Captured as captured:
        return captured.parsed
    except SystemExit as exc:
        message = stderr.getvalue().strip().splitlines()
        raise UserError(f"OpenRLHF's parser rejected the flags: {message[-1] if message else exc}") from None
    except AssertionError as exc:
        raise UserError(f"OpenRLHF's argument checks failed: {exc}") from None
    finally:
        sys.argv, ray.is_initialized, openrlhf.utils.get_strategy = saved
    raise UserError("OpenRLHF's train_ppo_ray returned without reaching train(): cannot check the flags")
