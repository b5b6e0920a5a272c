"""Evaluate a model on named benchmarks: resolve what ``--model`` names (a run, a checkpoint or a model directory),
load each benchmark with its data, split and options, evaluate, write per-item JSON.

The library behind ``npo-bench eval``, ``npo-bench compare``'s evaluations and the lm-eval integration."""

from __future__ import annotations

import inspect
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npo_bench.benchmark import make_benchmark
from npo_bench.config import RunConfig
from npo_bench.errors import UserError, did_you_mean
from npo_bench.evaluate import EvalResult, evaluate
from npo_bench.host import get_host
from npo_bench.policy.loading import load_policy_for
from npo_bench.presets import parse_override, with_overrides
from npo_bench.progress import RunProgress
from npo_bench.runlock import writer_lock
from npo_bench.runs import RunDir, atomic_write_json
from npo_bench.trainer.checkpoints import latest_checkpoint
from npo_bench.types import Prompt

if TYPE_CHECKING:
    from npo_bench.judge import Judge, JudgeConfig


def is_run_dir(path: Path) -> bool:
    return (path / "config.yaml").is_file() and (path / "checkpoints").is_dir()


def resolve_model(
    model: str, config: RunConfig, overrides: list[str] | tuple[str, ...] = ()
) -> tuple[Path, RunConfig, Path]:
    """(model directory, config to evaluate with, folder for results) for a run, checkpoint or model directory.

    A run is evaluated with its own config, the ``--set`` ``overrides`` applied on top (``eval.samples=16`` on a run
    must not be silently dropped); a model or checkpoint directory with ``config`` as given, overrides included.
    """
    path = Path(model)
    if is_run_dir(path):
        run = RunDir.open(path)
        ref = latest_checkpoint(run.checkpoints, log=lambda line: print(line, file=sys.stderr))
        if ref is None:
            raise UserError(f"run {path} has no checkpoint yet")
        return ref.path, with_overrides(run.resolved_config(), overrides, where=str(path / "config.yaml")), run.eval_dir
    if (path / "config.json").is_file():
        return path, config, Path("eval")
    if not path.exists():
        raise UserError(f"--model {model}: no such directory")
    raise UserError(f"--model {model}: neither a run directory nor a model directory (no config.json)")


def benchmark_names(text: str) -> list[str]:
    """``all`` → every registered benchmark; otherwise the comma-separated names, each checked (did-you-mean)."""
    registry = get_host().registry("benchmark")
    if text.strip() == "all":
        return registry.names()
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        registry.get(name)
    return names


def pairs(flag: str, values: list[str]) -> dict[str, str]:
    """``["mathvista=testmini", …]`` → ``{"mathvista": "testmini"}``; the benchmark names are checked."""
    registry = get_host().registry("benchmark")
    parsed: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise UserError(f"{flag} {value!r}: expected NAME=VALUE")
        registry.get(name)
        parsed[name] = rest
    return parsed


def data_paths(data_dir: str | None, data: list[str]) -> dict[str, str]:
    """Per-benchmark data: ``--data NAME=PATH`` wins over ``--data-dir DIR`` (``DIR/<name>`` for every benchmark
    that reads data files, so a benchmark missing there is an error, never a silent download)."""
    paths = pairs("--data", data)
    if data_dir:
        if not Path(data_dir).is_dir():
            raise UserError(f"--data-dir {data_dir}: no such directory")
        for registration in get_host().registry("benchmark"):
            if _accepts(registration.load(), "data"):  # a missing DIR/<name> is reported when it is read
                paths.setdefault(registration.name, str(Path(data_dir) / registration.name))
    return paths


def _accepts(cls: Any, option: str) -> bool:
    try:
        return option in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def option_names(cls: Any) -> list[str] | None:
    """The keyword options a benchmark class takes; None when it cannot be told (``**kwargs``, no signature)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in parameters if p.kind in kinds]


def benchmark_settings(values: list[str]) -> dict[str, dict[str, Any]]:
    """``--option NAME.KEY=VALUE`` (repeatable) → ``{NAME: {KEY: value}}``, the value parsed as YAML as for
    ``--set``; the benchmark and the key are checked (an unknown key names the benchmark and lists its options)."""
    registry = get_host().registry("benchmark")
    settings: dict[str, dict[str, Any]] = {}
    for text in values:
        target, sep, _ = text.partition("=")
        name, dot, key = target.strip().rpartition(".")
        if not sep or not dot or not name or not key:
            raise UserError(f"--option {text!r}: expected NAME.KEY=VALUE, e.g. mmstar.gain=true")
        known = option_names(registry.get(name).load())
        if known is not None and key not in known:
            raise UserError(
                f"--option {text!r}: benchmark {name!r} has no option {key!r}", hint=did_you_mean(key, known)
            )
        settings.setdefault(name, {})[key] = parse_override(text)[1]
    return settings


def benchmark_options(
    name: str,
    config: RunConfig,
    data: dict[str, str],
    skip_bad: bool,
    settings: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The task options for the run's own benchmark, plus ``data``/``skip_bad`` for benchmarks that take them, then
    the benchmark's ``--option`` settings (:func:`benchmark_settings`), which win."""
    options: dict[str, Any] = dict(config.task.options) if name == config.task.benchmark else {}
    cls = get_host().get("benchmark", name).load()
    if name in data:
        if not _accepts(cls, "data"):
            raise UserError(f"benchmark {name!r} reads no data files (it takes no `data` option)")
        options["data"] = data[name]
    if skip_bad and _accepts(cls, "skip_bad"):
        options["skip_bad"] = True
    options.update((settings or {}).get(name, {}))
    return options


def judge_config(
    url: str | None, model: str | None, key_env: str = "OPENAI_API_KEY", cache: str | None = None
) -> JudgeConfig | None:
    """The ``--judge-*`` flags as a config; None (no judge) without ``--judge-url``."""
    if not url:
        if model or cache:
            raise UserError("--judge-model/--judge-cache need --judge-url (the judge's OpenAI-compatible base URL)")
        return None
    if not model:
        raise UserError(f"--judge-url {url}: --judge-model is required (the model name the server serves)")
    from npo_bench.judge import JudgeConfig

    return JudgeConfig(url=url, model=model, key_env=key_env or "OPENAI_API_KEY", cache_path=cache)


def attach_judge(config: JudgeConfig | None, benchmarks: list[Any]) -> Judge | None:
    """Give every benchmark with a ``judge_protocol`` the judge; check the endpoint once if any will use it."""
    if config is None:
        return None
    from npo_bench.judge import Judge

    judge = Judge(config)
    sessions = [benchmark.use_judge(judge) for benchmark in benchmarks if hasattr(benchmark, "use_judge")]
    if any(sessions):
        judge.check()  # before generation: a wrong URL or model name fails now, not after hours of sampling
    return judge


def judge_record(judge: Judge | None, benchmark: Any) -> dict[str, Any] | None:
    """The results JSON's ``"judge"`` block: the session's counts, or ``protocol: null`` where no judge applies."""
    if judge is None:
        return None
    session = getattr(benchmark, "judge_session", None)
    return session.summary() if session is not None else judge.unused()


def default_split(benchmark: Any) -> str:
    """The benchmark's ``default_split``, else ``test`` when it has one, else its last split."""
    return getattr(benchmark, "default_split", "") or ("test" if "test" in benchmark.splits else benchmark.splits[-1])


def describe_benchmarks() -> list[dict[str, Any]]:
    """``npo-bench benchmarks``: name, plugin, splits (default first) and summary of every registered benchmark."""
    rows = []
    for registration in get_host().registry("benchmark"):
        benchmark = make_benchmark(registration.name)
        default = default_split(benchmark)
        splits = [default, *(s for s in benchmark.splits if s != default)]
        rows.append(
            {
                "name": registration.name,
                "plugin": registration.plugin,
                "summary": registration.summary,
                "splits": splits,
                "default_split": default,
            }
        )
    return rows


def evaluate_model(
    config: RunConfig,
    model: str,
    benchmarks: list[str],
    limit: int | None = None,
    batch_size: int | None = None,
    out: str | None = None,
    data: dict[str, str] | None = None,
    splits: dict[str, str] | None = None,
    skip_bad: bool = False,
    judge: JudgeConfig | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> dict[str, EvalResult]:
    """Evaluate ``model`` on ``benchmarks``; ``data``/``splits`` map a benchmark name to its data and split,
    ``settings`` to its options (``--option``, :func:`benchmark_settings`); ``overrides`` are the ``--set`` keys,
    applied on top of a run's own config when ``model`` is a run (``config`` already holds them otherwise).

    ``judge`` (``--judge-url``): benchmarks whose official scorer uses an LLM follow that protocol with it; every
    result then records a ``"judge"`` block (``protocol: null`` where the benchmark has none).
    """
    data, splits = data or {}, splits or {}
    if limit is not None and limit < 1:
        raise UserError(f"--limit {limit}: must be ≥ 1")
    if batch_size is not None and batch_size < 1:
        raise UserError(f"--batch-size {batch_size}: must be ≥ 1")
    model_dir, config, results_dir = resolve_model(model, config, overrides)
    into_run = None if out else _run_of(results_dir)  # results go into a run directory: be its one writer meanwhile
    if into_run is not None and overrides:
        raise UserError(
            f"--set {' '.join(overrides)}: {results_dir} holds the run's own results under its own config; "
            "give --out DIR for an evaluation with other settings"
        )
    if out:
        results_dir = Path(out)
    with writer_lock(into_run):
        return _evaluate_into(
            config, model_dir, results_dir, benchmarks, limit, batch_size, data, splits, skip_bad, judge, settings
        )


def _run_of(results_dir: Path) -> Path | None:
    run = results_dir.parent
    return run if results_dir.name == "eval" and (run / "config.yaml").is_file() else None


def _evaluate_into(
    config: RunConfig,
    model_dir: Path,
    results_dir: Path,
    benchmarks: list[str],
    limit: int | None,
    batch_size: int | None,
    data: dict[str, str],
    splits: dict[str, str],
    skip_bad: bool,
    judge: JudgeConfig | None,
    settings: dict[str, dict[str, Any]] | None,
) -> dict[str, EvalResult]:
    settings = settings or {}
    for name in settings:
        if name not in benchmarks:
            raise UserError(
                f"--option {name}.…: {name!r} is not among the benchmarks evaluated", hint=", ".join(benchmarks)
            )
    loaded = [_load_benchmark(name, config, data, splits, skip_bad, limit, settings) for name in benchmarks]
    llm_judge = attach_judge(judge, [benchmark for _, benchmark, _, _ in loaded])
    m = config.model
    policy = load_policy_for(model_dir, m)
    eval_config = config.eval
    if batch_size:
        eval_config.batch_size = batch_size
    results: dict[str, EvalResult] = {}
    for name, benchmark, prompts, template in loaded:
        with RunProgress(len(prompts), label=f"eval {name}", every=max(len(prompts), 1)) as progress:
            done = [0]

            def advance(count: int, progress: RunProgress = progress, done: list[int] = done) -> None:
                done[0] += count
                progress.update(done[0], {})

            result = evaluate(policy, benchmark, prompts, eval_config, template, advance)
        result = replace(result, judge=judge_record(llm_judge, benchmark))
        atomic_write_json(results_dir / f"{name}.json", {"model": str(model_dir), **result.to_json()})
        results[name] = result
    return results


def _load_benchmark(
    name: str,
    config: RunConfig,
    data: dict[str, str],
    splits: dict[str, str],
    skip_bad: bool,
    limit: int | None,
    settings: dict[str, dict[str, Any]] | None = None,
) -> tuple[str, Any, list[Prompt], str]:
    """(name, benchmark, prompts, prompt template) of one benchmark, before any model is loaded (fail fast)."""
    own = name == config.task.benchmark
    benchmark = make_benchmark(name, benchmark_options(name, config, data, skip_bad, settings))
    split = splits.get(name) or (config.task.test_split if own else default_split(benchmark))
    if split not in benchmark.splits:
        raise UserError(f"benchmark {name!r} has no split {split!r}", hint=did_you_mean(split, benchmark.splits))
    size = limit or (config.task.test_size if own else None)
    prompts = benchmark.load(split, size, config.task.seed)
    template = config.task.prompt_template if own else getattr(benchmark, "prompt_template", None)
    return name, benchmark, prompts, template or config.task.prompt_template
