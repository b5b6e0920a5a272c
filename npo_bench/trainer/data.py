"""The training prompt stream: a pure function of the step number.

Step ``s`` (1-based) sees stream positions ``[(s−1)·B, s·B)``; position ``k`` is item ``perm_e[k mod N]`` of epoch
``e = k div N``, where ``perm_e`` is a permutation seeded by ``(seed, e)``. The data cursor is therefore just the step,
so a rollback to step ``t`` replays exactly the prompts steps ``t+1…`` saw before (NPO's replay, §3.5).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import lru_cache

from npo_bench.errors import UserError
from npo_bench.types import Prompt


class PromptStream:
    def __init__(self, prompts: Sequence[Prompt], batch_size: int, seed: int):
        if not prompts:
            raise UserError("the training split is empty")
        if batch_size < 1:
            raise UserError(f"rollout.prompts_per_step must be ≥ 1, got {batch_size}")
        self.prompts = list(prompts)
        self.batch_size = batch_size
        self.seed = seed
        self._permutation = lru_cache(maxsize=4)(self._make_permutation)

    def _make_permutation(self, epoch: int) -> list[int]:
        order = list(range(len(self.prompts)))
        random.Random(f"{self.seed}:epoch:{epoch}").shuffle(order)
        return order

    def at(self, position: int) -> Prompt:
        epoch, index = divmod(position, len(self.prompts))
        return self.prompts[self._permutation(epoch)[index]]

    def batch(self, step: int) -> list[Prompt]:
        """The prompts of step ``step`` (1-based)."""
        start = (step - 1) * self.batch_size
        return [self.at(k) for k in range(start, start + self.batch_size)]

    def between(self, start: int, end: int) -> list[Prompt]:
        """Prompts of steps ``start+1 … end``, in order, each once."""
        seen: dict[str, Prompt] = {}
        for step in range(start + 1, end + 1):
            for prompt in self.batch(step):
                seen.setdefault(prompt.id, prompt)
        return list(seen.values())

    def epoch(self, step: int) -> float:
        return (step * self.batch_size) / len(self.prompts)
