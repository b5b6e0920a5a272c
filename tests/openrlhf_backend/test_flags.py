"""The flag mapping: OpenRLHF's stock parser (and its checks) accepts every flag we emit, with our values."""

from __future__ import annotations

from pathlib import Path

import pytest

from npo_bench.errors import UserError
from npo_bench.presets import resolve
from npo_bench_plugins.openrlhf.backend import OpenRLHFBackend
from npo_bench_plugins.openrlhf.flags import parse_with_stock_parser
from npo_bench_plugins.openrlhf.options import REFUSED


def parsed(preset: str = "tiny-cpu", overrides: tuple[str, ...] = (), options: dict | None = None):
    config = resolve(preset, overrides=list(overrides))
    config.backend_options = options or {}
    return config, parse_with_stock_parser(OpenRLHFBackend.argv(config, Path("/runs/r1")))


def test_stock_parser_accepts_the_mapping_and_carries_our_values():
    config, args = parsed(overrides=("trainer.lr=2e-6", "trainer.clip_eps_high=0.3", "trainer.mini_batches=2"))
    assert args.rollout.n_samples_per_prompt == config.rollout.n == 8
    assert args.rollout.batch_size == 16
    assert args.train.batch_size == 16 * 8 // 2  # samples per optimizer step
    assert tuple(args.actor.eps_clip_low_high) == (0.2, 0.3)
    assert args.actor.loss_agg_mode == "token-mean"
    assert args.algo.advantage.estimator == "group_norm"
    assert args.algo.kl.init_coef == 0.0 and not args.algo.kl.use_loss  # no reference model
    assert args.actor.adam.lr == pytest.approx(2e-6)
    assert tuple(args.actor.adam.betas) == (0.9, 0.999)
    assert args.actor.adam.weight_decay == pytest.approx(0.01)
    assert args.actor.max_norm == 1.0 and args.actor.lr_warmup_ratio == 0.0
    assert args.actor.lr_scheduler == "cosine_with_min_lr" and args.actor.min_lr_ratio == pytest.approx(0.1)
    assert args.rollout.temperature == 1.0 and args.rollout.max_new_tokens == 32
    assert args.train.seed == 0
    assert args.reward.remote_url == ["agent"] and args.train.agent_func_path.endswith("openrlhf/agent.py")
    assert args.data.label_key == "label" and args.data.apply_chat_template and args.data.max_images_per_prompt == 1
    assert args.train.colocate_all and args.vllm.enable_sleep and args.ds.enable_sleep
    assert args.ckpt.path == "/runs/r1/openrlhf/deepspeed" and args.ckpt.save_steps == -1
    assert args.ckpt.output_dir == "/runs/r1/openrlhf/final-model"  # the stock final save, not ./ckpt in the cwd
    assert args.actor.entropy_coef == 0.0  # entropy computed and logged (AutoNPO's trigger), not in the loss
    assert args.vllm.sync_backend == "nccl"
    assert args.train.async_enable is False and args.algo.dynamic_filtering_enable is False
    assert args.algo.advantage.is_correction_level == "off" and args.train.enable_ema is False


def test_kl_loss_seq_mean_and_mean_advantages_map():
    _, args = parsed(
        overrides=("trainer.kl_coef=0.001", "trainer.loss_agg=seq_mean_token_mean", "trainer.advantage=mean")
    )
    assert args.algo.kl.use_loss and args.algo.kl.estimator == "k3" and args.algo.kl.init_coef == pytest.approx(1e-3)
    assert args.actor.loss_agg_mode == "seq-mean-token-mean"
    assert args.algo.advantage.estimator == "dr_grpo"


def test_pass_through_flags_reach_openrlhf_unchanged():
    _, args = parsed(options={"flags": {"--vllm.enforce_eager": True, "--actor.entropy_coef": 0.0, "ds.zpg": 2}})
    assert args.vllm.enforce_eager is True and args.actor.entropy_coef == 0.0 and args.ds.zpg == 2


def test_cluster_shape_maps():
    options = {"nodes": 4, "gpus_per_node": 8, "vllm_tensor_parallel": 2, "zero_stage": 3}
    _, args = parsed(overrides=("rollout.prompts_per_step=256",), options=options)
    assert (args.actor.num_nodes, args.actor.num_gpus_per_node) == (4, 8)
    assert (args.vllm.num_engines, args.vllm.tensor_parallel_size) == (16, 2)
    assert args.ds.zero_stage == 3


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--train.async_enable", True),
        ("--algo.dynamic_filtering_enable", True),
        ("--train.enable_ema", True),
        ("--algo.advantage.is_correction_level", "token"),
        ("--train.dynamic_batch_enable", True),
    ],
)
def test_refused_settings_fail_with_one_line(flag, value):
    with pytest.raises(UserError) as exc:
        parsed(options={"flags": {flag: value}})
    assert flag in exc.value.message and REFUSED[flag].split(",")[0] in exc.value.message
    assert "\n" not in exc.value.message


def test_flags_owned_by_the_config_are_not_passed_through():
    with pytest.raises(UserError, match="rollout.n"):
        parsed(options={"flags": {"--rollout.n_samples_per_prompt": 4}})


def test_unknown_backend_option_is_named():
    with pytest.raises(UserError, match="gpus_per_nod"):
        parsed(options={"gpus_per_nod": 8})


def test_a_flag_openrlhf_does_not_know_is_rejected_by_its_parser():
    with pytest.raises(UserError, match="unrecognized arguments"):
        parsed(options={"flags": {"--actor.no_such_flag": 1}})


def test_openrlhf_checks_the_cluster_shape_against_the_batch():
    """OpenRLHF's own check: 16 prompts × 8 rollouts in micro-batches of 8 cannot feed 32 actor ranks."""
    with pytest.raises(UserError, match="effective number of actor processes"):
        parsed(options={"nodes": 4, "gpus_per_node": 8})


@pytest.mark.parametrize("preset", ["qwen3vl-8b-32xh200", "qwen3vl-2b-8xh100"])
def test_the_gpu_presets_are_accepted_by_openrlhf(preset):
    config = resolve(preset, overrides=["source.name=near_future"])
    args = parse_with_stock_parser(OpenRLHFBackend.argv(config, Path("/runs/r1")))
    assert args.rollout.n_samples_per_prompt == 8
    assert args.rollout.batch_size == config.rollout.prompts_per_step
    assert args.actor.num_nodes * args.actor.num_gpus_per_node == args.vllm.num_engines  # colocated


def test_the_cpu_preset_maps_to_a_cpu_loop():
    config = resolve("openrlhf-cpu", overrides=["source.name=near_future"])
    args = parse_with_stock_parser(OpenRLHFBackend.argv(config, Path("/runs/r1")))
    assert args.vllm.sync_backend == "gloo"  # DeepSpeed rank 0 → engines over the CPU shim's gloo group
    assert args.ds.attn_implementation == "sdpa" and not args.train.colocate_all
    assert (args.actor.num_gpus_per_node, args.vllm.num_engines) == (1, 1)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"device": "cpu", "colocate": True, "attn_implementation": "sdpa"}, "colocate: false"),
        ({"device": "cpu", "colocate": False}, "attn_implementation: sdpa"),
        ({"device": "tpu"}, "cuda or cpu"),
    ],
)
def test_cpu_settings_that_cannot_work_are_refused(options, message):
    with pytest.raises(UserError, match=message):
        parsed(options=options)


def test_the_lr_horizon_counts_optimizer_steps(tmp_path, monkeypatch):
    """DeepSpeed steps OpenRLHF's scheduler once per optimizer step: mini_batches of them per rollout batch."""
    from npo_bench.trainer.loop import create_run
    from npo_bench_plugins.openrlhf.job import RUN_ENV
    from npo_bench_plugins.openrlhf.trainer import GuidedPPOTrainerBase

    config = resolve("openrlhf-cpu", overrides=["trainer.steps=5", "trainer.mini_batches=2", f"runs_dir={tmp_path}"])
    run = create_run(config, {})
    monkeypatch.setenv(RUN_ENV, str(run.path))
    assert GuidedPPOTrainerBase.get_max_steps(None) == 10


def test_an_error_raised_inside_a_ray_actor_is_unwrapped_to_its_cause():
    """Ray re-raises an actor's exception as RayTaskError(<its class>) whose text is the remote traceback; the launch
    prints the cause's one line instead."""
    from ray.exceptions import RayTaskError

    from npo_bench_plugins.openrlhf.backend import remote_cause

    inner = UserError("guidance source 'x' (plugin 'y') raised in guide(): boom")
    wrapped = RayTaskError("GuidedPPOTrainer.fit", "Traceback (most recent call last):\n  ...", inner)
    raised = wrapped.as_instanceof_cause()
    assert isinstance(raised, UserError) and "boom" not in str(raised)  # its text: where it ran, not what
    assert remote_cause(raised) is inner
