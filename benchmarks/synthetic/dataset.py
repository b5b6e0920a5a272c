"""Build the train and test splits of the synthetic task as ``Prompt`` lists.

Item ``i`` of split ``s`` is drawn from its own RNG seeded with ``"{seed}:{s}:{i}"``, so the splits use disjoint seed
streams, any item can be regenerated alone, and a split of 500 is a prefix of a split of 1000. Families and levels
cycle in a fixed interleaved order, so every prefix is balanced across them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from npo_bench.errors import UserError
from npo_bench.types import Prompt
from npo_bench_benchmarks.synthetic.scenes import render
from npo_bench_benchmarks.synthetic.tasks import FAMILIES, LEVELS, MAKERS
from npo_bench_benchmarks.synthetic.teacher import teacher_solution

SPLITS = ("train", "test", "warmup", "val")  # warmup: SFT data; val: for choosing settings without seeing test


def generate_split(
    split: str,
    size: int,
    seed: int,
    families: Sequence[str] = FAMILIES,
    levels: Sequence[int] = LEVELS,
    grid: int = 4,
    cell_px: int = 32,
) -> list[Prompt]:
    """``size`` prompts of ``split`` (one of ``SPLITS``), images rendered, gold answers and solutions in place."""
    if split not in SPLITS:
        raise UserError(f"synthetic: unknown split {split!r}", hint=f"known: {', '.join(SPLITS)}")
    for family in families:
        if family not in MAKERS:
            raise UserError(f"synthetic: unknown family {family!r}", hint=f"known: {', '.join(MAKERS)}")
    for level in levels:
        if level not in LEVELS:
            raise UserError(f"synthetic: unknown level {level!r}", hint=f"known: {LEVELS}")
    combos = [(family, level) for level in levels for family in families]
    prompts = []
    for index in range(size):
        family, level = combos[index % len(combos)]
        rng = random.Random(f"{seed}:{split}:{index}")
        item = MAKERS[family](level, rng, grid)
        image = render(item.objects, grid, cell_px, rng)
        prompts.append(
            Prompt(
                id=f"synthetic/{split}/{index:06d}",
                question=item.question,
                answer=item.answer,
                image=image,
                meta={
                    "family": family,
                    "level": level,
                    "split": split,
                    "solution": item.solution,
                    "teacher": teacher_solution(item, family, grid),  # LUFFY's external teacher (teacher.py)
                },
            )
        )
    return prompts
