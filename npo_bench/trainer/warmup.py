"""SFT warm-up: imitate reference solutions until the policy reaches NPO's regime, cached by config hash.

The base checkpoint must be weak in the way NPO targets (§3.5: early bootstrapping from a base that fails many
prompts): an overall train pass rate of 20–40% with ≥ 30% of train prompts at 0 of n (:data:`REGIME`). Training
stops at the first probe whose pass rate reaches ``warmup.target_pass_rate`` (or after ``warmup.max_steps`` when that
is empty); the final regime is then measured on ``warmup.report_prompts`` train prompts × n samples — overall and per
task family (a family the base cannot solve at all gives RL nothing to sharpen) — and written to ``warmup.json`` next
to the weights, with a sentence saying whether the base is inside the regime (:func:`regime_verdict`).
Everything is seeded, so the same config gives the same base checkpoint; the cache key is the hash of every input.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from npo_bench.benchmark import make_benchmark
from npo_bench.config import RunConfig, config_hash, to_dict
from npo_bench.errors import UserError
from npo_bench.grpo.schedules import LR_SCHEDULES
from npo_bench.policy.batching import collate, encode_prompt
from npo_bench.policy.loading import Policy, load_policy_for
from npo_bench.policy.logprobs import response_token_stats
from npo_bench.policy.sampling import sample
from npo_bench.policy.tiny import build_tiny_policy
from npo_bench.runs import atomic_write_json
from npo_bench.types import Prompt

WARMUP_VERSION = 1  # bump when the warm-up procedure changes: old cache entries stop matching
REPORT_FILE = "warmup.json"
PROBE_SEED = 4321
# NPO's regime for the base: train pass rate in [low, high] and at least this share of prompts at 0 of n.
REGIME = {"pass_rate_low": 0.20, "pass_rate_high": 0.40, "zero_frac_min": 0.30}


def regime_verdict(report: dict[str, Any]) -> str:
    """Whether a warm-up report's base sits in NPO's regime, in words (old reports without families work too)."""
    rate, zero, n = report["train_pass_rate"], report["train_zero_frac"], report.get("samples_per_prompt", 8)
    inside = REGIME["pass_rate_low"] <= rate <= REGIME["pass_rate_high"] and zero >= REGIME["zero_frac_min"]
    rule = (
        f"pass rate {REGIME['pass_rate_low']:.0%}–{REGIME['pass_rate_high']:.0%} and ≥ {REGIME['zero_frac_min']:.0%} "
        f"of prompts at 0/{n}"
    )
    text = (
        f"train pass rate {rate:.3f}, {zero:.1%} of prompts at 0/{n} over {report.get('report_prompts', '?')} prompts: "
        + (f"inside NPO's regime ({rule})" if inside else f"OUTSIDE NPO's regime ({rule})")
    )
    families = report.get("families")
    if families:
        text += "; per family (pass rate, at 0/n): " + ", ".join(
            f"{name} {f['pass_rate']:.3f} / {f['zero_frac']:.0%}" for name, f in families.items()
        )
    return text


def family_regimes(prompts: list[Prompt], rates: list[float]) -> dict[str, dict[str, float]]:
    """Pass rate and share of prompts at 0/n per task family (``prompt.meta['family']``; none: no entry)."""
    by_family: dict[str, list[float]] = {}
    for prompt, rate in zip(prompts, rates, strict=True):
        family = prompt.meta.get("family") if prompt.meta else None
        if family is not None:
            by_family.setdefault(str(family), []).append(rate)
    return {
        name: {"pass_rate": sum(r) / len(r), "zero_frac": sum(x == 0.0 for x in r) / len(r), "prompts": len(r)}
        for name, r in sorted(by_family.items())
    }


def cache_root(config: RunConfig) -> Path:
    root = config.cache_dir or os.environ.get("NPO_BENCH_CACHE") or Path.home() / ".cache" / "npo-bench"
    return Path(root)


# Settings that cannot change the base checkpoint: where the run evaluates, how many CPU threads run the matmuls,
# whether repeated images are encoded once and whether repeated prompts run once (the last three only change the
# floating-point summation order; the SFT batches hold distinct prompts anyway). ``model.decoder`` stays in the key:
# the two decoders make different random draws, so the warm-up's probes differ. Leaving the others out
# of the key lets ``--set task.test_split=val`` or ``--set model.threads=1`` reuse the cached warm-up instead of
# silently training a new one.
_NOT_IN_WARMUP_KEY = {"model": ("threads", "dedup_images", "share_prompt_forward"), "task": ("test_split", "test_size")}


def warmup_key(config: RunConfig) -> str:
    sections = {"model": to_dict(config.model), "task": to_dict(config.task)}
    for section, keys in _NOT_IN_WARMUP_KEY.items():
        for key in keys:
            sections[section].pop(key)
    return config_hash(
        sections["model"],
        sections["task"],
        config.warmup,
        {"n": config.rollout.n, "temperature": config.rollout.temperature, "max_new": config.rollout.max_new_tokens},
        {"version": WARMUP_VERSION},
    )


def base_model_dir(config: RunConfig, log: Callable[[str], None] = print) -> Path:
    """The base checkpoint of a run: the warm-up output (built once, then cached), or ``model.path`` as is."""
    if not config.warmup.enabled:
        if not config.model.path:
            raise UserError("warmup.enabled=false needs model.path (the tiny model is useless without warm-up)")
        return Path(config.model.path)
    target = cache_root(config) / "warmup" / warmup_key(config)
    if (target / REPORT_FILE).exists():
        return target
    run_warmup(config, target, log)
    return target


def initial_model_dir(config: RunConfig) -> Path:
    if config.model.path:
        return Path(config.model.path)
    tiny = config.model.tiny
    corpus = ["user\nassistant\n"] * 50
    for options in (config.task.options, {**config.task.options, **config.warmup.options}):  # RL and SFT text
        benchmark = make_benchmark(config.task.benchmark, options)
        corpus += [
            config.task.prompt_template.format(question=text) for text in benchmark.corpus(2000, config.task.seed)
        ]
    key = config_hash(tiny, config.model.min_pixels, config.model.max_pixels, corpus, {"version": WARMUP_VERSION})
    target = cache_root(config) / "tiny" / key
    if not (target / "config.json").exists():
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        build_tiny_policy(tiny, corpus, staging, config.model.min_pixels, config.model.max_pixels)
        staging.rename(target)
    return target


def _sft_example(policy: Policy, prompt: Prompt, template: str) -> tuple[Any, torch.Tensor]:
    """(prompt encoding, solution tokens + EOS); encoded per batch so that many examples stay cheap in memory."""
    solution = prompt.meta.get("solution")
    if not solution:
        raise UserError(f"warm-up item {prompt.id} has no reference solution (meta['solution'])")
    target = policy.tokenizer(solution, add_special_tokens=False)["input_ids"] + [policy.eos_ids[0]]
    return encode_prompt(policy, prompt, template), torch.tensor(target, dtype=torch.long)


def pass_rates(policy: Policy, prompts: list[Prompt], config: RunConfig, n: int, benchmark: Any) -> list[float]:
    """Per-prompt fraction of ``n`` samples (training temperature) that the benchmark scores correct."""
    r = config.rollout
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(PROBE_SEED)
        groups = sample(policy, prompts, n, r.temperature, r.top_p, r.max_new_tokens, config.task.prompt_template)
    return [
        sum(benchmark.score(p, t.text).correct for t in group) / n for p, group in zip(prompts, groups, strict=True)
    ]


def run_warmup(config: RunConfig, target: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train, measure the regime, save ``target`` (model + processor + warmup.json) atomically."""
    w = config.warmup
    started = time.perf_counter()
    if config.model.threads:  # as the trainer does; the warm-up runs before any backend exists
        torch.set_num_threads(config.model.threads)
    benchmark = make_benchmark(config.task.benchmark, config.task.options)
    policy = load_policy_for(initial_model_dir(config), config.model)
    template = config.task.prompt_template
    sft_benchmark = make_benchmark(config.task.benchmark, {**config.task.options, **w.options})
    examples = sft_benchmark.load(w.split, w.size, config.task.seed)
    train_prompts = benchmark.load(config.task.train_split, config.task.train_size, config.task.seed)
    probe = train_prompts[: w.probe_prompts]
    torch.manual_seed(w.seed)
    order_rng = random.Random(w.seed)
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=w.lr, weight_decay=0.0)
    order: list[int] = []
    probe_rate, steps = 0.0, 0
    for steps in range(1, w.max_steps + 1):
        if len(order) < w.batch_size:
            fresh = list(range(len(examples)))
            order_rng.shuffle(fresh)
            order.extend(fresh)
        picked, order = order[: w.batch_size], order[w.batch_size :]
        encoded = [_sft_example(policy, examples[i], template) for i in picked]
        batch = collate([e[0] for e in encoded], [e[1] for e in encoded], policy.pad_id)
        for group in optimizer.param_groups:
            group["lr"] = w.lr * LR_SCHEDULES[w.lr_schedule](steps - 1, w.max_steps, w.lr_min_ratio)
        policy.model.train()
        stats = response_token_stats(policy, batch, temperature=1.0)
        mask = batch.response_mask.to(policy.device)
        loss = -(stats.logprobs * mask).sum() / mask.sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.model.parameters(), 1.0)
        optimizer.step()
        policy.model.eval()
        if steps % w.check_every == 0:
            rates = pass_rates(policy, probe, config, w.probe_samples, benchmark)
            probe_rate = sum(rates) / len(rates)
            log(f"warm-up step {steps}: loss {float(loss.detach()):.3f}, probe pass rate {probe_rate:.3f}")
            if w.target_pass_rate is not None and probe_rate >= w.target_pass_rate:
                break
    report_prompts = train_prompts[: w.report_prompts]
    rates = pass_rates(policy, report_prompts, config, config.rollout.n, benchmark)
    report = {
        "steps": steps,
        "probe_pass_rate": probe_rate,
        "train_pass_rate": sum(rates) / len(rates),
        "train_zero_frac": sum(r == 0.0 for r in rates) / len(rates),
        "report_prompts": len(rates),
        "samples_per_prompt": config.rollout.n,
        "families": family_regimes(report_prompts, rates),
        "seconds": round(time.perf_counter() - started, 1),
        "key": target.name,
    }
    report["regime"] = regime_verdict(report)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    policy.model.save_pretrained(staging)
    policy.processor.save_pretrained(staging) if policy.processor is not None else policy.tokenizer.save_pretrained(
        staging
    )
    atomic_write_json(staging / REPORT_FILE, report)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    log(f"warm-up done in {report['seconds']}s after {steps} steps: {report['regime']}")
    return report
