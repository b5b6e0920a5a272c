"""The lm-eval task functions of an exported task directory; its ``utils.py`` binds them to one benchmark.

A doc is one prompt exactly as ``npo-bench eval`` builds it: ``{"id", "question", "answer", "image", "meta"}`` with
the image as a PNG beside the docs (lossless, so the policy sees the same pixels) and ``meta`` as a JSON string
(it carries the verifier and options chosen for the item at load time). Scoring rebuilds the prompt and calls the
benchmark's own ``score``; the official metrics are the benchmark's own ``aggregate`` over every item's verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npo_bench.types import Prompt

if TYPE_CHECKING:
    from PIL.Image import Image

    from npo_bench.benchmark import Benchmark

DOCS_FILE = "docs.jsonl"
SPLIT = "test"  # the one split of an exported task (whatever benchmark split it was exported from)
IMAGE_PLACEHOLDER = "<image>"  # lm-eval's convention (hf-multimodal swaps it for the model's image token)
PER_ITEM_METRIC = "correct"  # each response's verdict (1.0 / 0.0); its mean is the per-response accuracy


def load_docs(folder: Path, **_: Any) -> Any:
    """The task's ``custom_dataset``: ``folder/docs.jsonl`` as a one-split ``DatasetDict``, image paths absolute."""
    import datasets

    rows = []
    with (folder / DOCS_FILE).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                row["image"] = str(folder / row["image"]) if row["image"] else None
                rows.append(row)
    return datasets.DatasetDict({SPLIT: datasets.Dataset.from_list(rows)})


def doc_to_text(doc: Mapping[str, Any]) -> str:
    """The prompt text, after lm-eval's ``<image>`` placeholder when the item has an image (the npo-bench model
    strips it: our chat format puts the image before the text)."""
    return (IMAGE_PLACEHOLDER if doc["image"] else "") + doc["question"]


def doc_to_image(doc: Mapping[str, Any]) -> list[Image]:
    """The item's image (one: several source images were already combined side by side), or none."""
    if not doc["image"]:
        return []
    from PIL import Image

    with Image.open(doc["image"]) as image:
        return [image.convert("RGB")]


def doc_to_target(doc: Mapping[str, Any]) -> str:
    return doc["answer"]


def process_results(
    doc: Mapping[str, Any], results: Sequence[str], name: str, options: Mapping[str, Any], metrics: Sequence[str]
) -> dict[str, Any]:
    """``{"correct": 1.0 | 0.0, <metric>: record, …}``: the verdict of the benchmark's ``score`` on the response.

    Each official metric gets the item's verdict record; :func:`aggregate` turns all records into that metric.
    """
    verdict = benchmark(name, json.dumps(dict(options), sort_keys=True)).score(doc_prompt(doc), results[0])
    record = {
        "id": doc["id"],
        "answer": doc["answer"],
        "meta": doc["meta"],
        "correct": bool(verdict.correct),
        "score": float(verdict.score),
        "extracted": verdict.extracted,
        "reason": verdict.reason,
        "rule": verdict.rule,
    }
    return {PER_ITEM_METRIC: float(verdict.correct), **{metric: {**record, "metric": metric} for metric in metrics}}


def aggregate(records: Sequence[Mapping[str, Any]], name: str, options: Mapping[str, Any]) -> float:
    """One official metric (named in the records) from the benchmark's ``aggregate`` over all the verdicts."""
    from npo_bench.verify.verdict import Verdict

    prompts = [Prompt(r["id"], "", r["answer"], None, json.loads(r["meta"])) for r in records]
    verdicts = [Verdict(r["correct"], r["score"], r["extracted"], r["reason"], r["rule"]) for r in records]
    scores = benchmark(name, json.dumps(dict(options), sort_keys=True)).aggregate(prompts, verdicts)
    return float(scores[records[0]["metric"]])


def doc_prompt(doc: Mapping[str, Any]) -> Prompt:
    """The prompt a doc was exported from (without its image: scoring never reads it)."""
    return Prompt(doc["id"], doc["question"], doc["answer"], None, json.loads(doc["meta"]))


@cache
def benchmark(name: str, options_json: str) -> Benchmark:
    """One benchmark instance per (name, options) for scoring (no data is read: options exclude ``data``)."""
    from npo_bench.benchmark import make_benchmark

    return make_benchmark(name, json.loads(options_json))
