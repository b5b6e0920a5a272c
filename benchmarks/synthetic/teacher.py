"""The synthetic task's external teacher: a programmatic oracle that writes correct solutions in its own style.

LUFFY (npo-paper.md §6.1) trains on traces of a *stronger external model* (DeepSeek-R1; on MMFineReason the bundled
Qwen3-VL-235B-Thinking CoT). What makes those traces off-policy is a distribution gap: they are correct, but worded
unlike anything the policy would sample. This oracle plays that role for the synthetic task. It reads the scene (the
objects on the grid, as a strong vision model would) and the question text, works the answer out itself — it never
reads the gold answer or the reference solution — and writes a verbose natural-language chain of thought that
names cells by row and column, where the policy's own style (``TaskItem.think``) is a terse list of cell letters::

    <think>Let me look at each cell of the 4 by 4 grid. The red shapes sit at row 1 column 3, row 2 column 3 and
    row 3 column 1, so there are 3 of them.</think><answer>3</answer>

The text is a pure function of the item (no RNG), so adding it to a split changes nothing else in that split.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from npo_bench_benchmarks.synthetic.scenes import COLOURS, SHAPES, Digit, SceneObject, Shape
from npo_bench_benchmarks.synthetic.tasks import TaskItem

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def teacher_solution(item: TaskItem, family: str, grid: int) -> str:
    """The teacher's ``<think>…</think><answer>…</answer>`` for ``item`` of ``family`` on a ``grid × grid`` board."""
    think, answer = WRITERS[family](item.objects, item.question, grid)
    return f"<think>{think}</think><answer>{answer}</answer>"


def _where(obj: SceneObject, grid: int) -> str:
    row, col = divmod(obj.cell, grid)
    return f"row {row + 1} column {col + 1}"


def _listing(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" and {words[-1]}"


def _shapes(objects: Sequence[SceneObject]) -> list[Shape]:
    return sorted((o for o in objects if isinstance(o, Shape)), key=lambda o: o.cell)


def _count(objects: Sequence[SceneObject], question: str, grid: int) -> tuple[str, str]:
    words = question.rstrip("?").split()  # "How many red shapes are there" | "How many red circles are there"
    colour, kind = words[2], words[3]
    shape = next((s for s in SHAPES if kind == s + "s"), None)
    found = [o for o in _shapes(objects) if o.colour == colour and shape in (None, o.shape)]
    what = f"{colour} {kind}"
    opening = f"Let me look at each cell of the {grid} by {grid} grid."
    if not found:
        return f"{opening} I cannot find a single {colour} {shape or 'shape'} anywhere, so the count is 0.", "0"
    if len(found) == 1:
        return f"{opening} There is just one of the {what}, at {_where(found[0], grid)}, so the count is 1.", "1"
    places = _listing([_where(o, grid) for o in found])
    return f"{opening} The {what} sit at {places}, so there are {len(found)} of them.", str(len(found))


def _read(objects: Sequence[SceneObject], question: str, grid: int) -> tuple[str, str]:
    digits = sorted((o for o in objects if isinstance(o, Digit)), key=lambda o: o.cell)
    number = "".join(str(d.value) for d in digits)
    steps = "; ".join(f"the {_ORDINALS[i]} one, at {_where(d, grid)}, shows a {d.value}" for i, d in enumerate(digits))
    extra = " The coloured shapes are only decoration, so I ignore them." if len(digits) < len(objects) else ""
    think = (
        f"The picture contains {len(digits)} seven-segment digit{'s' if len(digits) > 1 else ''}, which I read "
        f"left to right and top to bottom: {steps}.{extra} Putting the digits together gives {number}."
    )
    return think, number


def _compare(objects: Sequence[SceneObject], question: str, grid: int) -> tuple[str, str]:
    shapes = _shapes(objects)
    if "largest" in question:
        sizes = _listing([f"the {o.shape} at {_where(o, grid)} is {o.size}" for o in shapes])
        largest = next(o.shape for o in shapes if o.size == "large")
        return f"Comparing the sizes: {sizes}. So the biggest one is the {largest}.", largest
    counts = Counter(o.colour for o in shapes)
    order = [c for c in COLOURS if c in counts]
    tally = _listing([f"{counts[c]} {c}" for c in order])
    best = max(order, key=lambda c: counts[c])
    return f"I count the shapes of every colour and get {tally}. The most common colour is therefore {best}.", best


def _arith(objects: Sequence[SceneObject], question: str, grid: int) -> tuple[str, str]:
    names = question.removeprefix("How many ").split(" shapes")[0].replace(" and ", ", ").split(", ")
    counts = [sum(o.colour == c for o in _shapes(objects)) for c in names]
    parts = _listing([f"{n} {c} shape{'s' if n != 1 else ''}" for c, n in zip(names, counts, strict=True)])
    total = sum(counts)
    sums = " plus ".join(map(str, counts))
    return f"First I count each colour separately: {parts}. Adding them up, {sums} makes {total}.", str(total)


def _describe(objects: Sequence[SceneObject], question: str, grid: int) -> tuple[str, str]:
    def name(o: SceneObject) -> str:
        return f"a {o.size} {o.colour} {o.shape}" if isinstance(o, Shape) else f"the digit {o.value}"

    found = [f"{name(o)} at {_where(o, grid)}" for o in sorted(objects, key=lambda o: o.cell)]
    return f"Going through the grid cell by cell I find {_listing(found)}. That makes {len(found)} objects.", str(
        len(found)
    )


WRITERS: dict[str, Callable[[Sequence[SceneObject], str, int], tuple[str, str]]] = {
    "count": _count,
    "read": _read,
    "compare": _compare,
    "arith": _arith,
    "describe": _describe,
}
