"""npo-bench's embedded GRPO step against TRL's ``GRPOTrainer``, side by side (a benchmark script, not a test).

Both train the **same** tiny Qwen3-VL (the preset's cached warm-up base, else its random init), on the same synthetic
train prompts and images, with the same group shape (16 prompts × n = 8, 32 new tokens at temperature 1, special
tokens suppressed), no KL (β = 0), the token-mean clipped surrogate (ε 0.2 / 0.28; TRL ``loss_type="dapo"``), AdamW
at the preset's learning rate and weight decay, grad-norm clip 1, micro-batches of 64 rows (TRL: 64 per device × 2
accumulation steps = one optimizer step per generation batch, as npo-bench's one step per rollout batch), and every
row through the backward pass (npo-bench's ``trainer.skip_zero_advantage`` is turned off: TRL has no such skip).
The reward is the same scorer for both: 0.9 · accuracy + 0.1 · format (the preset's ``trainer.format_weight``).

The two trainers live in two processes of one process tree and take turns step by step (a semaphore each): only one
computes at a time, on the same cores with the same torch thread count, so a busy machine slows both alike. TRL runs
as a user would run it (``trainer.train()``); a callback waits for its turn at ``on_step_begin`` and times the step up
to ``on_step_end``. Its rollout time is the time spent in ``GRPOTrainer._generate``.

Printed per trainer: s/step (median), steps/s, rollout tokens/s (generated tokens over sampling time), train tokens/s
(prompt + response tokens of every row over the update's time), and the update's achieved model GFLOP/s — matmul
FLOPs of a plain forward + backward over every row (6 · weights · tokens for the text decoder and the vision tower,
attention scores included) over the update time — against a plain ``torch.matmul`` of the same shapes (the MLP
up-projection of one micro-batch) on the same cores: how close to the machine's limit a step is. npo-bench skips
work a plain forward does (each prompt's KV and each image computed once), so its model GFLOP/s can exceed what the
cores execute; the ratio of steps/s is the headline.

    pip install 'npo-bench[trl]'           # trl 1.16 (transformers 5.x)
    python perf/against_trl.py                         # tiny-cpu, 2 warm-up + 8 timed steps each
    python perf/against_trl.py --steps 4 --threads 1
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue as queue_module
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

MICRO_BATCH = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tiny-cpu")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per trainer")
    parser.add_argument("--warmup-steps", type=int, default=2, help="untimed steps first (each trainer)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of each trainer")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="npo-bench config override")
    args = parser.parse_args()

    settings = {
        "preset": args.preset,
        "overrides": [*args.overrides, "trainer.skip_zero_advantage=false", f"model.threads={args.threads}"],
        "steps": args.warmup_steps + args.steps,
        "warmup_steps": args.warmup_steps,
        "threads": args.threads,
    }
    context = multiprocessing.get_context("spawn")
    turns = [context.Semaphore(0), context.Semaphore(0)]
    results = context.Queue()
    workers = [
        context.Process(target=_npo_worker, args=(settings, turns, 0, results), name="npo-bench"),
        context.Process(target=_trl_worker, args=(settings, turns, 1, results), name="trl"),
    ]
    for worker in workers:
        worker.start()
    ready, reports = 0, {}
    while ready < 2:  # both loaded and ready to take a step
        message = _get(results, workers)
        if message[0] == "ready":
            ready += 1
            print(f"{message[1]} ready ({message[2]})", flush=True)
    turns[0].release()  # npo-bench steps first, then they alternate
    while len(reports) < 2:
        message = _get(results, workers)
        if message[0] == "report":
            reports[message[1]] = message[2]
        elif message[0] == "step":
            print(f"{message[1]:>9} step {message[2]}: {message[3]:.3f} s", flush=True)
    for worker in workers:
        worker.join()
    print(format_report(reports, args, matmul_gflops(reports, args.threads)))


def _get(results: Any, workers: list) -> tuple:
    while True:
        try:
            return results.get(timeout=5)
        except queue_module.Empty:
            dead = [w.name for w in workers if not w.is_alive() and w.exitcode not in (0, None)]
            if dead:
                raise SystemExit(f"worker {', '.join(dead)} died; see its traceback above") from None


# ---- the shared setup -----------------------------------------------------------------------------------------------
def _config_and_base(settings: dict) -> tuple[Any, Path, str]:
    from npo_bench.presets import resolve
    from npo_bench.trainer.warmup import REPORT_FILE, cache_root, initial_model_dir, warmup_key

    config = resolve(settings["preset"], overrides=settings["overrides"])
    cached = cache_root(config) / "warmup" / warmup_key(config)
    if (cached / REPORT_FILE).exists():
        return config, cached, "warm-up base"
    return config, initial_model_dir(config), "random init"


def _flop_counts(model: Any) -> dict[str, float]:
    """Matmul weights (Linear and the patch embedding) of the text decoder + head and of the vision tower."""
    import torch

    text = vision = 0
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv3d)):
            if ".visual." in f".{name}." or name.startswith("visual") or ".visual" in name:
                vision += module.weight.numel()
            else:
                text += module.weight.numel()
    cfg = getattr(model.config, "text_config", model.config)
    return {
        "text_weights": text,
        "vision_weights": vision,
        "layers": cfg.num_hidden_layers,
        "hidden": cfg.hidden_size,
        "intermediate": cfg.intermediate_size,
    }


def update_flops(counts: dict[str, float], rows: int, row_tokens: list[int], patches_per_row: int) -> float:
    """Matmul FLOPs of a plain forward + backward over every row (backward = 2 × forward).

    Per token: 2 · text weights (each weight one multiply-add); per row of S tokens and per layer, causal attention
    scores and values ≈ 2 · 2 · S²/2 · hidden; per image patch: 2 · vision weights.
    """
    forward = 0.0
    for tokens in row_tokens:
        forward += 2 * counts["text_weights"] * tokens + 2 * counts["layers"] * tokens * tokens * counts["hidden"]
    forward += 2 * counts["vision_weights"] * patches_per_row * rows
    return 3 * forward


# ---- npo-bench ------------------------------------------------------------------------------------------------------
def _npo_worker(settings: dict, turns: list, me: int, results: Any) -> None:
    import torch

    from npo_bench.runs import RunDir
    from npo_bench.trainer.backend import EmbeddedBackend

    config, base, kind = _config_and_base(settings)
    torch.set_num_threads(settings["threads"])
    with tempfile.TemporaryDirectory() as tmp:
        backend = EmbeddedBackend(config, RunDir.create(Path(tmp) / "run", {}, {}, config.seed), base)
        counts = _flop_counts(backend.policy.model)
        patches = _patches_per_image(backend)
        results.put(("ready", "npo-bench", kind))
        steps = []
        rows = config.rollout.prompts_per_step * config.rollout.n
        for index in range(settings["steps"]):
            turns[me].acquire()
            started = time.perf_counter()
            stats = backend._grpo_step(guided=False)
            seconds = time.perf_counter() - started
            turns[1 - me].release()
            results.put(("step", "npo-bench", index, seconds))
            if index >= settings["warmup_steps"]:
                m = stats.metrics
                steps.append(
                    {
                        "step_s": seconds,
                        "generate_s": m["time/generate_s"],
                        "train_s": m["time/train_s"],
                        "response_tokens": m["response/tokens"],
                        "train_tokens": m["train/tokens"],
                        "flops": update_flops(counts, rows, _row_tokens(m, rows), patches),
                    }
                )
    report = {"steps": steps, "counts": counts, "kind": kind, "shape": _shape(config), "rows": rows}
    results.put(("report", "npo-bench", report))


def _patches_per_image(backend: Any) -> int:
    from npo_bench.policy.batching import encode_prompt

    prompt = backend.benchmark.load(backend.config.task.train_split, 1, backend.config.task.seed)[0]
    encoding = encode_prompt(backend.policy, prompt, backend.config.task.prompt_template)
    return int(encoding.image_grid_thw.prod()) if encoding.image_grid_thw is not None else 0


def _row_tokens(metrics: dict, rows: int) -> list[int]:
    """Every row's prompt + response length, approximated by the step's mean (npo-bench logs totals)."""
    mean = metrics["train/tokens"] / rows
    return [round(mean)] * rows


def _shape(config: Any) -> str:
    r = config.rollout
    return f"{r.prompts_per_step} prompts × n={r.n}, {r.max_new_tokens} new tokens"


# ---- TRL ------------------------------------------------------------------------------------------------------------
def _trl_worker(settings: dict, turns: list, me: int, results: Any) -> None:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from npo_bench.benchmark import make_benchmark
    from npo_bench.policy.loading import load_policy_for
    from npo_bench.verify import verify

    config, base, kind = _config_and_base(settings)
    torch.set_num_threads(settings["threads"])
    torch.manual_seed(config.seed)
    policy = load_policy_for(base, config.model)
    benchmark = make_benchmark(config.task.benchmark, config.task.options)
    prompts = benchmark.load(config.task.train_split, config.task.train_size, config.task.seed)
    template = config.task.prompt_template
    dataset = Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": template.format(question=p.question)}] for p in prompts],
            "image": [p.image for p in prompts],
            "item": list(range(len(prompts))),
        }
    )
    weight = config.trainer.format_weight

    def reward(completions: list, item: list, **_: Any) -> list[float]:
        scores = []
        for completion, index in zip(completions, item, strict=True):
            text = completion[0]["content"] if isinstance(completion, list) else completion
            score = float(benchmark.score(prompts[index], text).score)
            fmt = float(verify(text, "", verifier="format").score) if weight else 0.0
            scores.append((1.0 - weight) * score + weight * fmt)
        return scores

    r, t = config.rollout, config.trainer
    rows = r.prompts_per_step * r.n
    micro = min(MICRO_BATCH, rows)
    if rows % micro:
        raise SystemExit(f"{rows} rows per step do not split into micro-batches of {micro}")
    timing: dict[str, Any] = {"steps": [], "generate_s": 0.0, "tokens": None}

    class Turns(TrainerCallback):
        def on_train_begin(self, *_: Any, **__: Any) -> None:
            results.put(("ready", "trl", kind))

        def on_step_begin(self, *_: Any, **__: Any) -> None:
            turns[me].acquire()
            timing["generate_s"] = 0.0
            timing["started"] = time.perf_counter()

        def on_step_end(self, state: Any, *_: Any, **__: Any) -> None:
            seconds = time.perf_counter() - timing["started"]
            turns[1 - me].release()
            results.put(("step", "trl", len(timing["steps"]), seconds))
            timing["steps"].append((seconds, timing["generate_s"], timing["tokens"]))

    with tempfile.TemporaryDirectory() as tmp:
        args = GRPOConfig(
            output_dir=tmp,
            max_steps=settings["steps"],
            per_device_train_batch_size=micro,
            gradient_accumulation_steps=rows // micro,
            num_generations=r.n,
            max_completion_length=r.max_new_tokens,
            temperature=r.temperature,
            top_p=r.top_p,
            top_k=0,
            generation_kwargs={"suppress_tokens": list(policy.suppress_ids)} if policy.suppress_ids else None,
            beta=0.0,
            loss_type="dapo",  # token mean over the generation batch
            epsilon=t.clip_eps_low,
            epsilon_high=t.clip_eps_high,
            scale_rewards="group",
            learning_rate=t.lr,
            lr_scheduler_type="constant",
            warmup_steps=0,
            gradient_checkpointing=False,  # TRL's default recomputes activations; npo-bench keeps them (fits easily)
            weight_decay=t.weight_decay,
            adam_beta1=t.betas[0],
            adam_beta2=t.betas[1],
            max_grad_norm=t.grad_clip,
            use_cpu=config.model.device == "cpu",
            bf16=False,
            seed=config.seed,
            logging_steps=10_000,
            save_strategy="no",
            report_to=[],
            disable_tqdm=True,
            dataloader_num_workers=0,
            remove_unused_columns=False,
        )
        trainer = GRPOTrainer(
            model=policy.model,
            reward_funcs=reward,
            args=args,
            train_dataset=dataset,
            processing_class=policy.processor,
            callbacks=[Turns()],
        )
        generate = trainer._generate

        def timed_generate(*a: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            out = generate(*a, **kw)
            timing["generate_s"] += time.perf_counter() - started
            prompt_ids, completion_ids = out[0], out[1]
            timing["tokens"] = (
                sum(len(c) for c in completion_ids),
                [len(p) + len(c) for p, c in zip(prompt_ids, completion_ids, strict=True)],
            )
            return out

        trainer._generate = timed_generate
        counts = _flop_counts(policy.model)
        patches = _trl_patches(policy, prompts[0], template)
        trainer.train()
    steps = []
    for seconds, generate_s, (response_tokens, row_tokens) in timing["steps"][settings["warmup_steps"] :]:
        steps.append(
            {
                "step_s": seconds,
                "generate_s": generate_s,
                "train_s": seconds - generate_s,
                "response_tokens": response_tokens,
                "train_tokens": sum(row_tokens),
                "flops": update_flops(counts, len(row_tokens), row_tokens, patches),
            }
        )
    results.put(("report", "trl", {"steps": steps, "counts": counts, "kind": kind, "shape": _shape(config)}))


def _trl_patches(policy: Any, prompt: Any, template: str) -> int:
    from npo_bench.policy.batching import encode_prompt

    encoding = encode_prompt(policy, prompt, template)
    return int(encoding.image_grid_thw.prod()) if encoding.image_grid_thw is not None else 0


# ---- the reference matmul and the report ----------------------------------------------------------------------------
def matmul_gflops(reports: dict, threads: int, repeats: int = 20) -> dict[str, Any]:
    """GFLOP/s of a plain float32 ``torch.matmul``: one micro-batch's MLP up-projection, forward and backward shapes."""
    import torch

    torch.set_num_threads(threads)
    counts = reports["npo-bench"]["counts"]
    steps = reports["npo-bench"]["steps"]
    rows = reports["npo-bench"]["rows"]
    tokens = round(statistics.fmean(s["train_tokens"] for s in steps) / rows * min(MICRO_BATCH, rows))
    hidden, up = counts["hidden"], counts["intermediate"]
    a, w, grad = torch.randn(tokens, hidden), torch.randn(hidden, up), torch.randn(tokens, up)
    shapes = [(a, w), (grad, w.t()), (a.t(), grad)]  # forward, input grad, weight grad
    for x, y in shapes:
        torch.matmul(x, y)
    started = time.perf_counter()
    for _ in range(repeats):
        for x, y in shapes:
            torch.matmul(x, y)
    seconds = (time.perf_counter() - started) / repeats
    flops = sum(2 * x.shape[0] * x.shape[1] * y.shape[1] for x, y in shapes)
    return {"gflops": flops / seconds / 1e9, "shape": f"({tokens}×{hidden})·({hidden}×{up}) and its two backward"}


def summarise(steps: list[dict]) -> dict[str, float]:
    seconds = [s["step_s"] for s in steps]
    train_s = sum(s["train_s"] for s in steps)
    return {
        "median s/step": statistics.median(seconds),
        "steps/s": len(seconds) / sum(seconds),
        "rollout tokens/s": sum(s["response_tokens"] for s in steps) / sum(s["generate_s"] for s in steps),
        "train tokens/s": sum(s["train_tokens"] for s in steps) / train_s,
        "update model GFLOP/s": sum(s["flops"] for s in steps) / train_s / 1e9,
    }


def format_report(reports: dict, args: argparse.Namespace, matmul: dict) -> str:
    npo, trl = summarise(reports["npo-bench"]["steps"]), summarise(reports["trl"]["steps"])
    counts = reports["npo-bench"]["counts"]
    lines = [
        f"model        {reports['npo-bench']['kind']} of {args.preset}: text matmul weights "
        f"{counts['text_weights'] / 1e6:.2f} M, vision {counts['vision_weights'] / 1e6:.2f} M",
        f"group shape  {reports['npo-bench']['shape']}; {args.steps} timed steps each after {args.warmup_steps}, "
        f"alternating; {args.threads} torch thread(s) each",
        "",
        f"{'':24}{'npo-bench':>14}{'TRL':>14}{'npo-bench / TRL':>18}",
    ]
    for key in npo:
        ratio = trl[key] / npo[key] if key == "median s/step" else npo[key] / trl[key]  # > 1: npo-bench ahead
        lines.append(f"{key:24}{npo[key]:>14,.3f}{trl[key]:>14,.3f}{ratio:>17.2f}×")
    lines += [
        "",
        f"plain torch.matmul of the same shapes ({matmul['shape']}): {matmul['gflops']:.1f} GFLOP/s",
        f"update at {npo['update model GFLOP/s'] / matmul['gflops']:.0%} (npo-bench) and "
        f"{trl['update model GFLOP/s'] / matmul['gflops']:.0%} (TRL) of that matmul rate",
        f"steps/s ratio npo-bench / TRL = {npo['steps/s'] / trl['steps/s']:.2f}× (target ≥ 1.5×)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
