"""Evaluate a policy on a benchmark: batched generation, scoring through the verifiers, per-item records.

Sampling-based evaluation (temperature > 0) runs under a forked, fixed-seed RNG, so evaluating never changes the
training run's random stream.
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

    def to_json(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "scores": self.scores, "items": self.records}


def evaluate(
    policy: Policy,
    benchmark: Benchmark,
    prompts: Sequence[Prompt],
    config: EvalConfig,
    template: str,
    progress: Callable[[int], None] | None = None,
) -> EvalResult:
    """Generate one response per item (greedy by default), score it, aggregate."""
    responses: list[str] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(EVAL_SEED)
        for start in range(0, len(prompts), config.batch_size):
            chunk = prompts[start : start + config.batch_size]
            groups = sample(
                policy, chunk, 1, config.temperature, config.top_p, config.max_new_tokens, template,
                batch_size=config.batch_size,
            )
            responses.extend(group[0].text for group in groups)
            if progress is not None:
                progress(len(chunk))
    verdicts = [benchmark.score(p, r) for p, r in zip(prompts, responses, strict=True)]
    records = [
        {
            "id": p.id,
            "prompt": p.question,
            "response": r,
            "extracted": v.extracted,
            "gold": p.answer,
            "correct": bool(v.correct),
            "score": float(v.score),
            "reason": v.reason,
            "rule": v.rule,
            **{k: p.meta[k] for k in ("family", "level") if k in p.meta},
        }
        for p, r, v in zip(prompts, responses, verdicts, strict=True)
    ]
    return EvalResult(benchmark.name, benchmark.aggregate(prompts, verdicts), records)
