"""Evaluate a policy on a benchmark: batched generation, scoring through the verifiers, per-item records.

The default decoding is the NPO siblings' validation config (temperature 0.7, top-p 0.8, top-k 20; the paper states
none) with 4 samples per item; ``eval.temperature=0`` gives greedy decoding. Sampling runs under a forked,
fixed-seed RNG, so evaluating never changes the training run's random stream and is itself reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from npo_bench.benchmark import Benchmark
from npo_bench.config import EvalConfig
from npo_bench.policy.loading import Policy
from npo_bench.policy.sampling import sample
from npo_bench.types import Prompt

EVAL_SEED = 1234


@dataclass(frozen=True)
class EvalResult:
    benchmark: str
    scores: dict[str, float]
    records: list[dict[str, Any]]
    skipped: tuple[str, ...] = ()  # bad rows skipped while loading (``--skip-bad``), one message each
    judge: dict[str, Any] | None = None  # the LLM judge's url, model, protocol, calls, cached (``--judge-url``)

    def to_json(self) -> dict[str, Any]:
        judge = {"judge": self.judge} if self.judge is not None else {}
        return {
            "benchmark": self.benchmark,
            "scores": self.scores,
            "skipped": list(self.skipped),
            **judge,
            "items": self.records,
        }


def evaluate(
    policy: Policy,
    benchmark: Benchmark,
    prompts: Sequence[Prompt],
    config: EvalConfig,
    template: str,
    progress: Callable[[int], None] | None = None,
) -> EvalResult:
    """Generate ``config.samples`` responses per item (one when greedy), score each, aggregate over all of them.

    With k samples the accuracy is avg@k: the mean verdict over k × items responses (every item weighs the same).
    """
    samples = 1 if config.temperature == 0 else max(config.samples, 1)
    responses: list[list[str]] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(EVAL_SEED)
        for start in range(0, len(prompts), config.batch_size):
            chunk = prompts[start : start + config.batch_size]
            groups = sample(
                policy,
                chunk,
                samples,
                config.temperature,
                config.top_p,
                config.max_new_tokens,
                template,
                batch_size=config.batch_size * samples,
                top_k=config.top_k,
            )
            responses.extend([t.text for t in group] for group in groups)
            if progress is not None:
                progress(len(chunk))
    return score_responses(benchmark, prompts, responses)


def score_responses(benchmark: Benchmark, prompts: Sequence[Prompt], responses: Sequence[Sequence[str]]) -> EvalResult:
    """Score ``responses[i]`` (k texts) of ``prompts[i]`` and aggregate: per-item records and the benchmark's scores
    (shared by every backend: the openrlhf backend generates with its vLLM engines and scores here)."""
    scored = [
        (p, k, r, benchmark.score(p, r)) for p, rs in zip(prompts, responses, strict=True) for k, r in enumerate(rs)
    ]
    record_fields = getattr(benchmark, "record_fields", ("family", "level"))
    records = [
        {
            "id": p.id,
            "sample": k,
            "prompt": p.question,
            "response": r,
            "extracted": v.extracted,
            "gold": p.answer,
            "verdict": "correct" if v.correct else "incorrect",
            "correct": bool(v.correct),
            "score": float(v.score),
            "reason": v.reason,
            "rule": v.rule,
            **({"judge_output": v.judge_output} if hasattr(v, "judge_output") else {}),  # LLM judge, per stage
            **{key: p.meta[key] for key in record_fields if key in p.meta},
        }
        for p, k, r, v in scored
    ]
    scores = benchmark.aggregate([p for p, *_ in scored], [v for *_, v in scored])
    return EvalResult(benchmark.name, scores, records, tuple(getattr(benchmark, "skipped", ())))
