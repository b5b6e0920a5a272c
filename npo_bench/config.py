"""The configuration schema: one dataclass per section, every field typed, documented and range-checked.

Where the values come from (presets, method files, ``--config``, ``--set`` overrides) is :mod:`npo_bench.presets`.
Unknown keys and wrong types are errors naming the field, with a "did you mean" hint.
Every field carries its documentation as ``metadata["help"]``; ``npo-bench config --explain`` prints them.
Where the NPO paper or a baseline's repo states a value, the help text cites it; where it is silent the default is
our documented choice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union

from npo_bench.errors import UserError, did_you_mean
from npo_bench.options import Check

# Choices checked here, before anything runs; tests/unit/test_config_validation.py asserts that they agree with the
# registries the code looks them up in (torch dtypes, LR schedules, loss aggregations, advantage estimators, …).
DTYPE_CHOICES = ("float32", "bfloat16", "float16")
DECODER_CHOICES = ("compact", "generate")
ATTENTION_CHOICES = ("sdpa", "eager", "flash_attention_2")
TINY_ARCH_CHOICES = ("qwen3_vl", "qwen2_5_vl", "qwen2_vl")
LR_SCHEDULE_CHOICES = ("constant", "cosine")
LOSS_AGG_CHOICES = ("token_mean", "seq_mean_token_mean")
ADVANTAGE_CHOICES = ("mean_std", "mean")
VERIFIER_CHOICES = ("auto",)
DEVICE_PATTERN = r"auto|cpu|mps|cuda(:\d+)?"


def _f(default: Any, help: str, **check: Any) -> Any:
    """A documented field; ``check`` holds its constraints (``ge``, ``gt``, ``le``, ``lt``, ``choices``: see
    :class:`npo_bench.options.Check`), enforced whenever a config is built (:func:`from_dict`)."""
    metadata = {"help": help, "check": Check(**check)}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=metadata)
    return field(default=default, metadata=metadata)


def _section(cls: type, help: str) -> Any:
    return field(default_factory=cls, metadata={"help": help})


@dataclass
class TinyModelConfig:
    arch: str = _f(
        "qwen3_vl",
        "architecture of the tiny random-init policy: qwen3_vl | qwen2_5_vl | qwen2_vl",
        choices=TINY_ARCH_CHOICES,
    )
    hidden_size: int = _f(128, "text hidden size", ge=1)
    intermediate_size: int = _f(384, "text MLP size", ge=1)
    num_layers: int = _f(4, "text decoder layers", ge=1)
    num_heads: int = _f(4, "attention heads", ge=1)
    num_kv_heads: int = _f(2, "key/value heads (GQA)", ge=1)
    vision_depth: int = _f(2, "vision transformer blocks", ge=1)
    vision_hidden: int = _f(64, "vision hidden size", ge=1)
    vocab_size: int = _f(512, "target BPE vocabulary (the trained tokenizer may come out smaller)", ge=64)
    init_seed: int = _f(0, "seed of the random initialisation and tokenizer training")


@dataclass
class ModelConfig:
    path: str | None = _f(None, "local HF model directory (e.g. Qwen3-VL-8B-Instruct); empty = build the tiny model")
    tiny: TinyModelConfig = _section(TinyModelConfig, "the tiny model built when `path` is empty")
    dtype: str = _f("float32", "float32 | bfloat16 | float16", choices=DTYPE_CHOICES)
    device: str = _f("auto", "cpu | cuda | cuda:N | mps | auto (cuda when available)")
    attn_implementation: str = _f("sdpa", "sdpa | eager | flash_attention_2", choices=ATTENTION_CHOICES)
    min_pixels: int = _f(128 * 128, "image processor lower bound on pixels per image", ge=1)
    max_pixels: int = _f(128 * 128, "image processor upper bound on pixels per image (≥ min_pixels)", ge=1)
    threads: int | None = _f(None, "torch CPU threads (empty = torch's default)", ge=1)
    dedup_images: bool = _f(True, "vision tower encodes each distinct image of a batch once (exact; n rows share one)")
    decoder: str = _f(
        "compact",
        "sampling loop: compact (prefills each prompt once, drops finished rows; text LMs and Qwen-VL, "
        "else falls back) | generate (HF generate)",
        choices=DECODER_CHOICES,
    )
    share_prompt_forward: bool = _f(
        True, "teacher forcing runs each distinct prompt of a batch once, its KV cache shared by the n rows (exact)"
    )


@dataclass
class TaskConfig:
    benchmark: str = _f("synthetic", "benchmark plugin that provides training prompts and the held-out split")
    train_split: str = _f("train", "split used for training prompts")
    test_split: str = _f("test", "held-out split evaluated during and after training")
    train_size: int = _f(4000, "number of training prompts", ge=1)
    test_size: int = _f(500, "number of held-out items", ge=1)
    seed: int = _f(1, "data seed (train and test use disjoint seed streams)")
    prompt_template: str = _f(
        "{question}\nThink briefly inside <think></think>, then give the final answer inside <answer></answer>.",
        "user text around the question; `{question}` is replaced",
    )
    options: dict[str, Any] = _f({}, "benchmark-specific options (synthetic: families, levels, grid, cell_px)")


@dataclass
class WarmupConfig:
    enabled: bool = _f(True, "run the SFT warm-up (a real instruct model usually needs none: set false)")
    split: str = _f("warmup", "benchmark split with reference solutions (meta['solution']) to imitate")
    size: int = _f(16000, "number of SFT examples (cycled)", ge=1)
    options: dict[str, Any] = _f(
        {}, "benchmark options for the SFT data only, layered over task.options (e.g. easier levels than RL sees)"
    )
    lr: float = _f(2e-3, "AdamW learning rate of the SFT warm-up", ge=0)
    lr_schedule: str = _f(
        "constant", "constant | cosine (decays to lr_min_ratio·lr at max_steps)", choices=LR_SCHEDULE_CHOICES
    )
    lr_min_ratio: float = _f(0.1, "final learning rate of the cosine schedule, as a fraction of lr", ge=0, le=1)
    batch_size: int = _f(32, "sequences per SFT step", ge=1)
    max_steps: int = _f(2000, "hard cap on SFT steps", ge=1)
    check_every: int = _f(25, "probe the pass rate every this many SFT steps", ge=1)
    probe_prompts: int = _f(64, "train prompts in each probe", ge=1)
    probe_samples: int = _f(8, "samples per probe prompt (training temperature)", ge=1)
    target_pass_rate: float | None = _f(
        0.2,
        "stop once the probe pass rate reaches this (the base must sit in 10–40%, ≥30% prompts at 0/8); "
        "empty = always train max_steps",
        ge=0,
        le=1,
    )
    report_prompts: int = _f(
        1024, "train prompts in the final regime report (n = rollout.n samples each; 1024 → ± 1.4 points)", ge=1
    )
    seed: int = _f(0, "seed of the warm-up data order and sampling")
    threads: int = _f(
        2,
        "torch CPU threads of the SFT warm-up, whatever model.threads says; part of the cache key: the thread count "
        "changes the float summation order, hence the base's weights, so it is fixed to let runs at any "
        "model.threads (compare --jobs 2 --set model.threads=1) share one base",
        ge=1,
    )


@dataclass
class RolloutConfig:
    n: int = _f(8, "rollouts per prompt (group size; NPO/siblings use 8; group-relative advantages need ≥ 2)", ge=2)
    prompts_per_step: int = _f(16, "prompts per rollout batch (paper: 256 on 32 GPUs)", ge=1)
    temperature: float = _f(1.0, "sampling temperature (siblings: 1.0; 0 = greedy)", ge=0)
    top_p: float = _f(1.0, "nucleus sampling mass (siblings: 1.0)", gt=0, le=1)
    max_new_tokens: int = _f(48, "response length cap", ge=1)


@dataclass
class TrainerConfig:
    steps: int = _f(200, "optimizer steps (one per rollout batch when mini_batches = 1)", ge=1)
    lr: float = _f(1e-6, "AdamW learning rate (paper siblings: 1e-6 for an 8B model)", ge=0)
    lr_schedule: str = _f(
        "constant",
        "constant (siblings) | cosine (decays to lr_min_ratio·lr at trainer.steps)",
        choices=LR_SCHEDULE_CHOICES,
    )
    lr_min_ratio: float = _f(0.1, "final learning rate of the cosine schedule, as a fraction of lr", ge=0, le=1)
    weight_decay: float = _f(0.01, "AdamW weight decay (siblings: 0.01)", ge=0)
    betas: list[float] = _f([0.9, 0.999], "AdamW betas: two numbers in [0, 1)")
    grad_clip: float = _f(1.0, "max global grad norm (siblings: 1.0)", gt=0)
    clip_eps_low: float = _f(0.2, "PPO clip ε_low (DAPO clip-higher; siblings: 0.2)", ge=0, lt=1)
    clip_eps_high: float = _f(0.28, "PPO clip ε_high (DAPO clip-higher; siblings: 0.28)", ge=0)
    loss_agg: str = _f(
        "token_mean", "token_mean (EasyR1 default) | seq_mean_token_mean (GRPO paper form)", choices=LOSS_AGG_CHOICES
    )
    advantage: str = _f(
        "mean_std", "mean_std (GRPO) | mean (Dr.GRPO / LUFFY: no std normalisation)", choices=ADVANTAGE_CHOICES
    )
    adv_eps: float = _f(1e-6, "ε added to the group std", ge=0)
    kl_coef: float = _f(0.0, "k3 KL-to-reference coefficient (siblings: off)", ge=0)
    is_cap: float = _f(2.0, "truncation of π_θ/π_guide for injected trajectories in `importance` loss mode", gt=0)
    shaping_gamma: float = _f(
        0.1, "γ of f(x) = x/(x+γ) in the `luffy` and `exgrpo` loss modes (both papers: 0.1)", gt=0
    )
    mini_batches: int = _f(1, "optimizer steps per rollout batch (1 = on-policy, ratio ≡ 1 at the update)", ge=1)
    micro_batch_size: int = _f(64, "sequences per forward/backward (gradient accumulation; length-bucketed)", ge=1)
    micro_batch_tokens: int = _f(
        2048,
        "cap on sequences × longest response per forward/backward: long guide traces get smaller micro-batches "
        "(0 = no cap)",
        ge=0,
    )
    skip_zero_advantage: bool = _f(
        True, "rows with advantage 0 (all-0/all-1 groups) skip the backward pass: exact, their gradient is 0"
    )
    format_weight: float = _f(0.0, "reward = (1-w)·accuracy + w·format (siblings use 0.1 for math)", ge=0, le=1)
    save_every: int = _f(25, "checkpoint every this many steps (the final step is always saved)", ge=1)
    keep_checkpoints: int = _f(
        0, "keep only the newest K periodic checkpoints (0 = keep all: NPO rolls back to them)", ge=0
    )
    eval_every: int = _f(50, "held-out evaluation every this many steps (0 = only at start and end)", ge=0)


@dataclass
class EvalConfig:
    temperature: float = _f(
        0.7, "held-out decoding temperature, 0 = greedy (default: the NPO siblings' validation config, T 0.7)", ge=0
    )
    top_p: float = _f(0.8, "nucleus mass when sampling (siblings' validation config: 0.8)", gt=0, le=1)
    top_k: int = _f(20, "top-k when sampling, 0 = off (siblings' validation config: 20)", ge=0)
    samples: int = _f(4, "responses per item; accuracy is their mean (avg@k), which shrinks sampling noise", ge=1)
    max_new_tokens: int = _f(48, "response length cap", ge=1)
    batch_size: int = _f(128, "prompts per generation batch", ge=1)
    size: int | None = _f(None, "evaluate only the first N held-out items (empty = task.test_size)", ge=1)


@dataclass
class SourceConfig:
    name: str = _f("grpo", "guidance source plugin (grpo = no guidance)")
    options: dict[str, Any] = _f({}, "source-specific options (see `npo-bench sources`)")


@dataclass
class RunConfig:
    name: str | None = _f(None, "run directory name under runs_dir (empty = derived from preset, source, seed)")
    preset: str = _f("tiny-cpu", "the preset this config was resolved from")
    method: str | None = _f(None, "the method preset (configs/methods/) layered over the preset, if any")
    seed: int = _f(0, "seed of the RL run (sampling, data order)", ge=0)
    runs_dir: str = _f("runs", "where run directories are created")
    cache_dir: str | None = _f(None, "cache for warm-up checkpoints (empty = $NPO_BENCH_CACHE or ~/.cache/npo-bench)")
    backend: str = _f("embedded", "training backend plugin (embedded | openrlhf)")
    backend_options: dict[str, Any] = _f(
        {}, "options of the training backend (openrlhf: cluster shape, engines, pass-through flags; docs/backends.md)"
    )
    verifier: str = _f(
        "auto",
        "verifier for rewards and scoring: auto only — every benchmark item names the verifier that scores it "
        "(`npo-bench plugins` lists them); a run-wide override is not implemented",
        choices=VERIFIER_CHOICES,
    )
    model: ModelConfig = _section(ModelConfig, "the policy")
    task: TaskConfig = _section(TaskConfig, "training prompts and the held-out split")
    warmup: WarmupConfig = _section(WarmupConfig, "SFT warm-up that produces the base checkpoint")
    rollout: RolloutConfig = _section(RolloutConfig, "on-policy sampling")
    trainer: TrainerConfig = _section(TrainerConfig, "the GRPO optimisation")
    eval: EvalConfig = _section(EvalConfig, "held-out evaluation")
    source: SourceConfig = _section(SourceConfig, "guidance source")


# ---- type checking and coercion ---------------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (int→float allowed); raise a UserError naming ``where``."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except UserError as exc:
                errors.append(exc)
        raise errors[0]
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping of {tp.__name__} fields, got {type(value).__name__}")
        return _build(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise UserError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        (item_tp,) = typing.get_args(tp)
        return [_coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, bool):
        raise UserError(f"{where}: expected int, got bool {value!r}")
    if not isinstance(value, tp):
        raise UserError(f"{where}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    return value


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in hints:
            raise UserError(f"{where}: unknown key {key!r}", hint=did_you_mean(str(key), fields))
        name = f"{where}.{key}" if where else str(key)
        kwargs[key] = _coerce(value, hints[key], name)
        check = fields[key].metadata.get("check")
        problem = check.problem(kwargs[key]) if check is not None else None
        if problem is not None:
            raise UserError(f"{_field_name(name)}={kwargs[key]!r}: {problem}", hint=fields[key].metadata.get("help"))
    return cls(**kwargs)


def _field_name(where: str) -> str:
    """``config.rollout.n`` → ``rollout.n``: the dotted key a user types (file names keep their prefix)."""
    return where.removeprefix("config.")


def from_dict(data: dict[str, Any], where: str = "config") -> RunConfig:
    """Build a RunConfig from plain data, checking every key, type and range, then the rules across fields."""
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping of config keys, got {type(data).__name__}")
    config = _build(RunConfig, data, where)
    check_across_fields(config, where)
    return config


def check_across_fields(config: RunConfig, where: str = "config") -> None:
    """Rules that involve more than one field, or a pattern: each failure names the field(s)."""
    import re

    from npo_bench.runs import run_name_problem

    prefix = "" if where == "config" else f"{where}: "

    def fail(message: str, hint: str | None = None) -> None:
        raise UserError(prefix + message, hint=hint)

    m, t = config.model, config.trainer
    if not re.fullmatch(DEVICE_PATTERN, m.device):
        fail(f"model.device={m.device!r}: must be auto, cpu, cuda, cuda:N or mps")
    if m.min_pixels > m.max_pixels:
        fail(f"model.min_pixels={m.min_pixels} > model.max_pixels={m.max_pixels}")
    tiny = m.tiny
    if tiny.hidden_size % tiny.num_heads or tiny.num_heads % tiny.num_kv_heads:
        fail(
            f"model.tiny: hidden_size={tiny.hidden_size}, num_heads={tiny.num_heads}, "
            f"num_kv_heads={tiny.num_kv_heads}: heads must divide hidden_size and kv heads must divide heads"
        )
    if len(t.betas) != 2 or not all(0 <= b < 1 for b in t.betas):
        fail(f"trainer.betas={t.betas!r}: expected two numbers in [0, 1)")
    for key, template in (("task.prompt_template", config.task.prompt_template),):
        try:
            template.format(question="")
        except (KeyError, IndexError, ValueError) as exc:
            fail(f"{key}={template!r}: not a template with only {{question}} ({type(exc).__name__}: {exc})")
        if "{question}" not in template:
            fail(f"{key}={template!r}: must contain {{question}}")
    if config.name is not None:
        problem = run_name_problem(config.name)
        if problem is not None:
            fail(f"name={config.name!r}: {problem}")
    if not config.runs_dir.strip():
        fail("runs_dir is empty", hint="the folder run directories are created in, e.g. runs")


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_hash(*sections: Any) -> str:
    """A short stable hash of config sections (dataclasses or plain data)."""
    payload = [to_dict(s) if dataclasses.is_dataclass(s) else s for s in sections]
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def explain(cls: type = RunConfig, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, default, help) for every leaf field, in declaration order; a numeric range is appended to the
    help text (``[≥ 1]``) — choices are already spelled out there."""
    rows = []
    instance = cls()
    for f in dataclasses.fields(cls):
        value = getattr(instance, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            rows.extend(explain(type(value), key + "."))
        else:
            check = f.metadata.get("check")
            ranged = check is not None and check.choices is None and check.describe()
            limits = f" [{check.describe()}]" if ranged else ""
            rows.append((key, json.dumps(value), f.metadata.get("help", "") + limits))
    return rows
