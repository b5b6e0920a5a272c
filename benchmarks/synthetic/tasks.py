"""Question families of the synthetic visual-reasoning task, each with three difficulty levels.

Every item is a scene (objects on a grid), a question, the exact gold answer and a reference solution written as a
short ``<think>`` chain followed by ``<answer>``. The solution is derived from the scene by a program, so it is always
correct; the SFT warm-up learns from it and nothing at RL time ever shows it (or the answer) to the policy.

Families (level 1 → 3 adds objects, distractors and steps):

- ``count``   how many objects of a colour (L1) or colour+shape (L2, L3); think: per-row counts, then the sum.
- ``read``    read the 1/2/3-digit number drawn in seven-segment digits (L3 adds shape distractors).
- ``compare`` which of two shapes is larger (L1); which colour has more shapes (L2 gap ≥ 2, L3 gap 1 + distractors).
- ``arith``   add (L1, L2) or multiply (L3) the counts of two colours.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from npo_bench_benchmarks.synthetic.scenes import COLOURS, SHAPES, SIZES, Digit, SceneObject, Shape

FAMILIES = ("count", "read", "compare", "arith")
LEVELS = (1, 2, 3)


@dataclass(frozen=True)
class TaskItem:
    objects: list[SceneObject]
    question: str
    answer: str
    think: str

    @property
    def solution(self) -> str:
        return f"<think>{self.think}</think><answer>{self.answer}</answer>"


class _Board:
    """Places objects into distinct random cells."""

    def __init__(self, grid: int, rng: random.Random):
        self.grid = grid
        self.rng = rng
        self.free = list(range(grid * grid))
        rng.shuffle(self.free)
        self.objects: list[SceneObject] = []

    def shape(self, colour: str, shape: str, size: str | None = None) -> Shape:
        obj = Shape(self.free.pop(), shape, colour, size or self.rng.choice(SIZES))
        self.objects.append(obj)
        return obj

    def digit(self, value: int) -> Digit:
        obj = Digit(self.free.pop(), value)
        self.objects.append(obj)
        return obj

    def distractors(self, count: int, exclude: Callable[[str, str], bool]) -> None:
        """Add ``count`` shapes whose (colour, shape) is not excluded."""
        options = [(c, s) for c in COLOURS for s in SHAPES if not exclude(c, s)]
        for _ in range(count):
            colour, shape = self.rng.choice(options)
            self.shape(colour, shape)

    def row_counts(self, match: Callable[[SceneObject], bool]) -> list[int]:
        rows = [0] * self.grid
        for obj in self.objects:
            if match(obj):
                rows[obj.cell // self.grid] += 1
        return rows


def _plural(shape: str) -> str:
    return shape + "s"


def make_count(level: int, rng: random.Random, grid: int) -> TaskItem:
    board = _Board(grid, rng)
    colour = rng.choice(list(COLOURS))
    if level == 1:
        target, n_distract = rng.randint(1, 3), rng.randint(1, 2)
        for _ in range(target):
            board.shape(colour, rng.choice(SHAPES))
        board.distractors(n_distract, exclude=lambda c, s: c == colour)
        question = f"How many {colour} shapes are there?"

        def match(o: SceneObject) -> bool:
            return isinstance(o, Shape) and o.colour == colour

    else:
        shape = rng.choice(SHAPES)
        target = rng.randint(0, 4) if level == 2 else rng.randint(1, 6)
        n_distract = rng.randint(2, 5) if level == 2 else rng.randint(5, 8)
        for _ in range(target):
            board.shape(colour, shape)
        board.distractors(n_distract, exclude=lambda c, s: c == colour and s == shape)
        question = f"How many {colour} {_plural(shape)} are there?"

        def match(o: SceneObject) -> bool:
            return isinstance(o, Shape) and o.colour == colour and o.shape == shape

    rows = board.row_counts(match)
    think = "+".join(str(r) for r in rows) + f"={target}"
    return TaskItem(board.objects, question, str(target), think)


def make_read(level: int, rng: random.Random, grid: int) -> TaskItem:
    board = _Board(grid, rng)
    digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(level - 1)]
    cells = sorted(board.free[-level:])  # reading order = row-major cell order
    board.free = board.free[:-level]
    for cell, value in zip(cells, digits, strict=True):
        board.objects.append(Digit(cell, value))
    if level == 3:
        board.distractors(rng.randint(2, 4), exclude=lambda c, s: False)
    number = "".join(str(d) for d in digits)
    return TaskItem(board.objects, "What number is written in the image?", number, " ".join(number))


def make_compare(level: int, rng: random.Random, grid: int) -> TaskItem:
    board = _Board(grid, rng)
    if level == 1:
        first, second = rng.sample(SHAPES, 2)
        big_first = rng.random() < 0.5
        board.shape(rng.choice(list(COLOURS)), first, "large" if big_first else "small")
        board.shape(rng.choice(list(COLOURS)), second, "small" if big_first else "large")
        answer = first if big_first else second
        think = f"{first} {'large' if big_first else 'small'} {second} {'small' if big_first else 'large'}"
        return TaskItem(board.objects, f"Which is larger, the {first} or the {second}?", answer, think)
    colour_a, colour_b = rng.sample(list(COLOURS), 2)
    while True:
        a, b = rng.randint(1, 5), rng.randint(1, 5)
        gap = abs(a - b)
        if (level == 2 and gap >= 2) or (level == 3 and gap == 1):
            break
    for colour, count in ((colour_a, a), (colour_b, b)):
        for _ in range(count):
            board.shape(colour, rng.choice(SHAPES))
    if level == 3:
        board.distractors(rng.randint(2, 4), exclude=lambda c, s: c in (colour_a, colour_b))
    answer = colour_a if a > b else colour_b
    question = f"Are there more {colour_a} shapes or {colour_b} shapes?"
    return TaskItem(board.objects, question, answer, f"{colour_a} {a} {colour_b} {b}")


def make_arith(level: int, rng: random.Random, grid: int) -> TaskItem:
    board = _Board(grid, rng)
    colour_a, colour_b = rng.sample(list(COLOURS), 2)
    high = {1: 3, 2: 5, 3: 4}[level]
    a, b = rng.randint(1, high), rng.randint(1, high)
    for colour, count in ((colour_a, a), (colour_b, b)):
        for _ in range(count):
            board.shape(colour, rng.choice(SHAPES))
    if level >= 2:
        board.distractors(rng.randint(1, 3), exclude=lambda c, s: c in (colour_a, colour_b))
    if level == 3:
        question = f"What is the number of {colour_a} shapes times the number of {colour_b} shapes?"
        return TaskItem(board.objects, question, str(a * b), f"{colour_a} {a} {colour_b} {b} {a}*{b}={a * b}")
    question = f"What is the number of {colour_a} shapes plus the number of {colour_b} shapes?"
    return TaskItem(board.objects, question, str(a + b), f"{colour_a} {a} {colour_b} {b} {a}+{b}={a + b}")


MAKERS: dict[str, Callable[[int, random.Random, int], TaskItem]] = {
    "count": make_count,
    "read": make_read,
    "compare": make_compare,
    "arith": make_arith,
}
