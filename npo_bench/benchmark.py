"""The benchmark protocol: load items, score a response with the verifiers, aggregate scores.

A benchmark plugin registers a class through ``npo_bench_register_benchmarks``; the host instantiates it with the
benchmark's options (``task.options`` in a run config). The same ``score`` is the RL reward and the benchmark
scorer, so a verifier's mistakes show up in both places at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from npo_bench.errors import UserError
from npo_bench.host import get_host
from npo_bench.types import Prompt

if TYPE_CHECKING:
    from npo_bench.verify import Verdict


@runtime_checkable
class Benchmark(Protocol):
    name: str
    splits: tuple[str, ...]

    def load(self, split: str, size: int | None, seed: int) -> list[Prompt]:
        """Items of ``split`` (the first ``size`` of them when given), gold answers included."""

    def score(self, prompt: Prompt, response: str) -> Verdict:
        """Extract the answer from ``response`` and verify it against ``prompt.answer``."""

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """``{"accuracy": …, <sub-scores>…}`` as the benchmark's official scorer reports them."""


def make_benchmark(name: str, options: Mapping[str, Any] | None = None) -> Benchmark:
    """Instantiate a registered benchmark with ``options``; bad options are errors naming the benchmark."""
    registration = get_host().get("benchmark", name)
    cls = registration.load()
    try:
        return cls(**dict(options or {}))
    except TypeError as exc:
        raise UserError(f"benchmark {name!r}: bad options {dict(options or {})}: {exc}") from None
