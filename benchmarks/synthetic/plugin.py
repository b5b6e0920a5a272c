"""The ``synthetic`` benchmark plugin: procedurally generated visual reasoning with exact answers.

It provides both the RL training prompts (split ``train``) and the held-out evaluation (split ``test``); ``val`` is a
third disjoint stream for choosing settings (learning rate, schedule…) without looking at the test split.
Scoring goes through :func:`npo_bench.verify.verify`: numbers with the ``numeric`` verifier, words with ``exact``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from npo_bench import hookimpl
from npo_bench.types import Prompt

if TYPE_CHECKING:
    from npo_bench.verify import Verdict


class SyntheticBenchmark:
    """Procedural visual reasoning: count, read digits, compare, arithmetic; levels 1–3; exact answers."""

    name = "synthetic"
    splits = ("train", "test", "warmup", "val")

    def __init__(
        self,
        families: Sequence[str] = ("count", "read", "compare", "arith"),
        levels: Sequence[int] = (1, 2, 3),
        grid: int = 4,
        cell_px: int = 32,
    ):
        self.families = tuple(families)
        self.levels = tuple(levels)
        self.grid = grid
        self.cell_px = cell_px

    def load(self, split: str, size: int | None, seed: int) -> list[Prompt]:
        from npo_bench_benchmarks.synthetic.dataset import generate_split

        return generate_split(split, size or 500, seed, self.families, self.levels, self.grid, self.cell_px)

    def score(self, prompt: Prompt, response: str) -> Verdict:
        from npo_bench.verify import verify

        verifier = "numeric" if prompt.answer.lstrip("-").isdigit() else "exact"
        return verify(response, prompt.answer, verifier=verifier, item_id=prompt.id)

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Overall accuracy plus accuracy per family and per level."""
        buckets: dict[str, list[bool]] = defaultdict(list)
        for prompt, verdict in zip(prompts, verdicts, strict=True):
            buckets["accuracy"].append(verdict.correct)
            buckets[f"family/{prompt.meta.get('family')}"].append(verdict.correct)
            buckets[f"level/{prompt.meta.get('level')}"].append(verdict.correct)
        return {key: sum(values) / len(values) for key, values in sorted(buckets.items())}

    def corpus(self, size: int, seed: int) -> list[str]:
        """Text the tiny model's tokenizer is trained on: questions and reference solutions of the train split."""
        return [f"{p.question} {p.meta['solution']}" for p in self.load("train", size, seed)]


@hookimpl
def npo_bench_register_benchmarks(register):
    register("synthetic", SyntheticBenchmark)
