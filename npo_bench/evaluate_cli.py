"""``npo-bench eval``: resolve what ``--model`` names, evaluate it on benchmarks, write per-item JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from npo_bench.benchmark import make_benchmark
from npo_bench.config import RunConfig, from_dict
from npo_bench.errors import UserError
from npo_bench.evaluate import EvalResult, evaluate
from npo_bench.policy.loading import load_policy
from npo_bench.progress import RunProgress
from npo_bench.runs import RunDir, atomic_write_json
from npo_bench.trainer.checkpoints import latest_checkpoint


def resolve_model(model: str, config: RunConfig) -> tuple[Path, RunConfig, Path]:
    """(model directory, config to evaluate with, folder for results) for a run, checkpoint or model directory."""
    path = Path(model)
    if (path / "config.yaml").is_file() and (path / "checkpoints").is_dir():  # a run directory
        run = RunDir.open(path)
        ref = latest_checkpoint(run.checkpoints)
        if ref is None:
            raise UserError(f"run {path} has no checkpoint yet")
        return ref.path, from_dict(run.resolved_config(), where=str(path / "config.yaml")), run.eval_dir
    if (path / "config.json").is_file():
        return path, config, Path("eval")
    if not path.exists():
        raise UserError(f"--model {model}: no such directory")
    raise UserError(f"--model {model}: neither a run directory nor a model directory (no config.json)")


def evaluate_model(
    config: RunConfig,
    model: str,
    benchmarks: list[str],
    limit: int | None = None,
    batch_size: int | None = None,
    out: str | None = None,
) -> dict[str, EvalResult]:
    model_dir, config, results_dir = resolve_model(model, config)
    if out:
        results_dir = Path(out)
    m = config.model
    policy = load_policy(model_dir, m.device, m.dtype, m.attn_implementation, m.min_pixels, m.max_pixels)
    eval_config = config.eval
    if batch_size:
        eval_config.batch_size = batch_size
    results: dict[str, EvalResult] = {}
    for name in benchmarks:
        options: dict[str, Any] = dict(config.task.options) if name == config.task.benchmark else {}
        benchmark = make_benchmark(name, options)
        split = config.task.test_split if name == config.task.benchmark else benchmark.splits[-1]
        size = limit or (config.task.test_size if name == config.task.benchmark else None)
        prompts = benchmark.load(split, size, config.task.seed)
        with RunProgress(len(prompts), label=f"eval {name}", every=max(len(prompts), 1)) as progress:
            done = [0]

            def advance(count: int, progress: RunProgress = progress, done: list[int] = done) -> None:
                done[0] += count
                progress.update(done[0], {})

            result = evaluate(policy, benchmark, prompts, eval_config, config.task.prompt_template, advance)
        atomic_write_json(results_dir / f"{name}.json", {"model": str(model_dir), **result.to_json()})
        results[name] = result
    return results
