"""Question families of the synthetic visual-reasoning task, each with three difficulty levels.

Every item is a scene (objects on a grid), a question, the exact gold answer and a reference solution written as a
short ``<think>`` chain followed by ``<answer>``. The solution is derived from the scene by a program, so it is always
correct; the SFT warm-up learns from it and nothing at RL time ever shows it (or the answer) to the policy.

Families (level 1 → 3 adds objects, distractors and steps):

- ``count``   how many objects of a colour (L1) or colour+shape (L2, L3); think: the matching cells, named a–p in
  reading order (pointing, then counting the pointers, is what a small model learns fastest).
- ``read``    read the 1/2/3-digit number drawn in seven-segment digits (L3 adds shape distractors).
- ``compare`` which of three shapes is largest (L1); which colour has the most shapes (L2: 3 colours, lead ≥ 2;
  L3: 4 colours, lead 1). Answers are 3- or 4-way, so guessing rarely passes.
- ``describe`` (warm-up only) list every object in reading order, then their number — a captioning task that
  teaches perception densely, as image-caption pretraining does for real VLMs.
- ``arith``   add the counts of two colours (L1: 1–3 each, L2: 1–5 + distractors) or of three colours (L3).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from npo_bench_benchmarks.synthetic.scenes import COLOURS, SHAPES, SIZES, Digit, SceneObject, Shape

FAMILIES = ("count", "read", "compare", "arith")  # the default task; "describe" is extra warm-up data
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

    def cells(self, match: Callable[[SceneObject], bool]) -> str:
        """The matching objects' cells in reading order, as letters (a = top-left, row-major), or "none"."""
        letters = [cell_name(o.cell) for o in sorted(self.objects, key=lambda o: o.cell) if match(o)]
        return " ".join(letters) or "none"


def cell_name(cell: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[cell] if cell < 26 else f"c{cell}"


def _colour_is(colour: str) -> Callable[[SceneObject], bool]:
    return lambda o: isinstance(o, Shape) and o.colour == colour


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

    return TaskItem(board.objects, question, str(target), board.cells(match))


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
        shapes = list(SHAPES)
        rng.shuffle(shapes)
        largest = shapes[0]
        for shape in shapes:
            board.shape(rng.choice(list(COLOURS)), shape, "large" if shape == largest else "small")
        think = " ".join(f"{shape} {'large' if shape == largest else 'small'}" for shape in SHAPES)
        return TaskItem(board.objects, "Which shape is the largest?", largest, think)
    n_colours = 3 if level == 2 else 4
    colours = rng.sample(list(COLOURS), n_colours)
    while True:
        counts = [rng.randint(1, 4 if level == 2 else 3) for _ in colours]
        top = sorted(counts, reverse=True)
        if (level == 2 and top[0] - top[1] >= 2) or (level == 3 and top[0] - top[1] == 1):
            break
    for colour, count in zip(colours, counts, strict=True):
        for _ in range(count):
            board.shape(colour, rng.choice(SHAPES))
    answer = colours[counts.index(top[0])]
    think = " ".join(f"{c} {board.cells(_colour_is(c))}" for c in COLOURS if c in colours)  # fixed colour order
    return TaskItem(board.objects, "Which colour has the most shapes?", answer, think)


def make_arith(level: int, rng: random.Random, grid: int) -> TaskItem:
    board = _Board(grid, rng)
    n_terms, high = {1: (2, 3), 2: (2, 5), 3: (3, 4)}[level]
    colours = rng.sample(list(COLOURS), n_terms)
    counts = [rng.randint(1, high) for _ in colours]
    for colour, count in zip(colours, counts, strict=True):
        for _ in range(count):
            board.shape(colour, rng.choice(SHAPES))
    if level >= 2 and n_terms < len(COLOURS):
        board.distractors(rng.randint(1, 3), exclude=lambda c, s: c in colours)
    total = sum(counts)
    names = ", ".join(colours[:-1]) + f" and {colours[-1]}"
    question = f"How many {names} shapes are there in total?"
    listing = " ".join(f"{colour} {board.cells(_colour_is(colour))}" for colour in colours)
    return TaskItem(board.objects, question, str(total), f"{listing} {'+'.join(map(str, counts))}={total}")


def make_describe(level: int, rng: random.Random, grid: int) -> TaskItem:
    """List every object in reading order (a captioning item for warm-up data, not a default family)."""
    board = _Board(grid, rng)
    n_shapes = {1: (2, 4), 2: (4, 7), 3: (7, 11)}[level]
    board.distractors(rng.randint(*n_shapes), exclude=lambda c, s: False)
    for _ in range(rng.randint(0, level)):
        board.digit(rng.randint(0, 9))
    names = []
    for obj in sorted(board.objects, key=lambda o: o.cell):
        what = f"{obj.size} {obj.colour} {obj.shape}" if isinstance(obj, Shape) else f"digit {obj.value}"
        names.append(f"{cell_name(obj.cell)} {what}")
    return TaskItem(board.objects, "List the objects in the image.", str(len(names)), ", ".join(names))


MAKERS: dict[str, Callable[[int, random.Random, int], TaskItem]] = {
    "count": make_count,
    "read": make_read,
    "compare": make_compare,
    "arith": make_arith,
    "describe": make_describe,
}
