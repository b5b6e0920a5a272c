"""``npo-bench lmeval export``: one lm-eval task directory per benchmark, runnable with ``--include_path OUT``.

``OUT/npo_<name>/`` holds ``docs.jsonl`` + ``images/`` (the prompts exactly as ``npo-bench eval`` loads them: same
data, split, ``--limit``, prompt template), ``npo_<name>.yaml`` and a ``utils.py`` binding
:mod:`npo_bench.lmeval.hooks` to the benchmark. Metrics: ``correct`` (mean of the per-response verdicts) and every
top-level score of the benchmark's own ``aggregate`` (``accuracy``, MMMU-Pro's ``overall``, WeMath's
``score_strict`` …). Decoding defaults to greedy, one response per item (= ``npo-bench eval --set
eval.temperature=0``); lm-eval's ``--gen_kwargs`` changes it. Nothing in a task directory needs the network.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from npo_bench.config import RunConfig
from npo_bench.errors import UserError
from npo_bench.lmeval import TASK_PREFIX
from npo_bench.lmeval.hooks import DOCS_FILE, PER_ITEM_METRIC, SPLIT
from npo_bench.model_eval import _load_benchmark, benchmark_options, default_split
from npo_bench.types import Prompt

TASK_VERSION = 1  # bump when the exported format or the hooks' scoring contract changes
LOWER_IS_BETTER = {"IK", "IG", "RM_strict", "RM_loose"}  # WeMath's failure rates; every other score: higher wins
NOT_SCORES = {"k", "problems", "problems_incomplete"}  # counts in some aggregates, not metrics


def export_tasks(
    config: RunConfig,
    names: Sequence[str],
    out: str | Path,
    data: dict[str, str] | None = None,
    splits: dict[str, str] | None = None,
    skip_bad: bool = False,
    limit: int | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
) -> list[Path]:
    """Write ``out/npo_<name>/`` for each benchmark; returns the task directories. All data is read first.

    ``settings``: per-benchmark options (``--option``, e.g. ``mmstar.gain=true``), as for ``npo-bench eval``.
    """
    data, splits, settings = data or {}, splits or {}, settings or {}
    unknown = sorted(set(settings) - set(names))
    if unknown:
        raise UserError(f"--option for {', '.join(unknown)}: not among the benchmarks exported", hint=", ".join(names))
    loaded = [_load_benchmark(name, config, data, splits, skip_bad, limit, settings) for name in names]  # fail fast
    folders = []
    for name, benchmark, prompts, template in loaded:
        options = benchmark_options(name, config, data, skip_bad, settings)
        scoring = {k: v for k, v in options.items() if k not in ("data", "skip_bad")}
        own = name == config.task.benchmark  # the same split choice as npo-bench eval (header and metadata only)
        split = splits.get(name) or (config.task.test_split if own else default_split(benchmark))
        folder = Path(out) / f"{TASK_PREFIX}{name}"
        write_task(folder, name, split, benchmark, prompts, template, scoring, config.eval.max_new_tokens)
        folders.append(folder)
    return folders


def write_task(
    folder: Path,
    name: str,
    split: str,
    benchmark: Any,
    prompts: Sequence[Prompt],
    template: str,
    options: dict[str, Any],
    max_new_tokens: int,
) -> None:
    """Docs, images, YAML and ``utils.py`` of one benchmark's task directory."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with (folder / DOCS_FILE).open("w", encoding="utf-8") as handle:
        for index, prompt in enumerate(prompts):
            image = None
            if prompt.image is not None:
                image = f"images/{index}.png"
                prompt.image.save(folder / image, format="PNG")  # lossless: the policy sees the same pixels
            doc = {
                "id": prompt.id,
                "question": template.format(question=prompt.question),
                "answer": prompt.answer,
                "image": image,
                "meta": json.dumps(dict(prompt.meta), sort_keys=True),
            }
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    metrics = official_metrics(benchmark, prompts)
    (folder / f"{TASK_PREFIX}{name}.yaml").write_text(task_yaml(name, split, len(prompts), metrics, max_new_tokens))
    (folder / "utils.py").write_text(utils_py(name, options, metrics))


def official_metrics(benchmark: Any, prompts: Sequence[Prompt]) -> list[str]:
    """The top-level keys of the benchmark's ``aggregate`` (sub-scores ``group/value`` are left to npo-bench eval)."""
    from npo_bench.verify.verdict import Verdict

    keys = benchmark.aggregate(prompts, [Verdict.failed("probe") for _ in prompts])
    return [key for key in keys if "/" not in key and key not in NOT_SCORES]


def task_yaml(name: str, split: str, size: int, metrics: Sequence[str], max_new_tokens: int) -> str:
    lines = [
        f"# npo-bench benchmark {name!r}, split {split!r}, {size} items; written by `npo-bench lmeval export`.",
        f"task: {TASK_PREFIX}{name}",
        "custom_dataset: !function utils.load_docs",
        f"test_split: {SPLIT}",
        "output_type: generate_until",
        "doc_to_text: !function utils.doc_to_text",
        "doc_to_image: !function utils.doc_to_image",
        "doc_to_target: !function utils.doc_to_target",
        "process_results: !function utils.process_results",
        "generation_kwargs:",
        "  until: []  # a response ends at the model's end-of-turn token, as in npo-bench eval",
        "  do_sample: false",
        "  temperature: 0.0",
        f"  max_gen_toks: {max_new_tokens}",
        "metric_list:",
        f"  - metric: {PER_ITEM_METRIC}",
        "    aggregation: mean",
        "    higher_is_better: true",
    ]
    for metric in metrics:
        lines += [
            f"  - metric: {json.dumps(metric)}",
            "    aggregation: !function utils.aggregate",
            f"    higher_is_better: {'false' if metric in LOWER_IS_BETTER else 'true'}",
        ]
    lines += ["metadata:", f"  version: {TASK_VERSION}", f"  benchmark: {name}", f"  split: {json.dumps(split)}"]
    return "\n".join(lines) + "\n"


def utils_py(name: str, options: dict[str, Any], metrics: Sequence[str]) -> str:
    return f'''"""lm-eval functions of task {TASK_PREFIX}{name} (npo-bench benchmark {name!r}; see lmeval.hooks)."""

import json
from pathlib import Path

from npo_bench.lmeval import hooks
from npo_bench.lmeval.hooks import doc_to_image, doc_to_target, doc_to_text  # noqa: F401

BENCHMARK = {name!r}
OPTIONS = json.loads({json.dumps(options, sort_keys=True)!r})
METRICS = {list(metrics)!r}
HERE = Path(__file__).resolve().parent


def load_docs(**kwargs):
    return hooks.load_docs(HERE, **kwargs)


def process_results(doc, results):
    return hooks.process_results(doc, results, BENCHMARK, OPTIONS, METRICS)


def aggregate(records):
    return hooks.aggregate(records, BENCHMARK, OPTIONS)
'''
