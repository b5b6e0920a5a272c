"""The synthetic visual-reasoning task: exact answers derived from the scene, deterministic and disjoint splits."""

import pytest

from npo_bench.errors import UserError
from npo_bench.verify import verify
from npo_bench_benchmarks.synthetic.dataset import generate_split
from npo_bench_benchmarks.synthetic.plugin import SyntheticBenchmark
from npo_bench_benchmarks.synthetic.scenes import Digit, Shape
from npo_bench_benchmarks.synthetic.tasks import MAKERS, cell_name


def test_items_are_deterministic_and_prefix_stable():
    a = generate_split("train", 24, seed=3)
    b = generate_split("train", 12, seed=3)
    assert [p.question for p in a[:12]] == [p.question for p in b]
    assert [p.answer for p in a[:12]] == [p.answer for p in b]
    assert all(x.image.tobytes() == y.image.tobytes() for x, y in zip(a[:12], b))


def test_splits_use_disjoint_seed_streams():
    splits = {name: generate_split(name, 120, seed=1) for name in ("train", "test", "val")}
    for a, b in (("train", "test"), ("train", "val"), ("test", "val")):
        assert not {p.id for p in splits[a]} & {p.id for p in splits[b]}
        assert not {p.image.tobytes() for p in splits[a]} & {p.image.tobytes() for p in splits[b]}


def test_families_and_levels_are_balanced_in_every_prefix():
    items = generate_split("test", 12, seed=0)
    assert {(p.meta["family"], p.meta["level"]) for p in items} == {
        (f, lv) for f in ("count", "read", "compare", "arith") for lv in (1, 2, 3)
    }


@pytest.mark.parametrize("family", sorted(MAKERS))
@pytest.mark.parametrize("level", [1, 2, 3])
def test_reference_solutions_verify_against_gold(family, level):
    benchmark = SyntheticBenchmark(families=[family], levels=[level])
    for prompt in benchmark.load("train", 20, seed=11):
        assert benchmark.score(prompt, prompt.meta["solution"]).correct, (prompt.question, prompt.meta["solution"])
        assert prompt.meta["solution"].startswith("<think>")


def _scene(family, level, seed):
    import random

    return MAKERS[family](level, random.Random(seed), 4)


def test_count_answer_equals_matching_objects_in_the_scene():
    for seed in range(50):
        item = _scene("count", 2, seed)
        words = item.question.removeprefix("How many ").removesuffix(" are there?").split()
        colour, shape = words[0], words[1].removesuffix("s")
        matching = [o for o in item.objects if isinstance(o, Shape) and o.colour == colour and o.shape == shape]
        assert item.answer == str(len(matching))
        assert item.think == (" ".join(cell_name(o.cell) for o in sorted(matching, key=lambda o: o.cell)) or "none")


def test_read_answer_is_the_digits_in_reading_order():
    for seed in range(50):
        item = _scene("read", 3, seed)
        digits = sorted((o for o in item.objects if isinstance(o, Digit)), key=lambda o: o.cell)
        assert item.answer == "".join(str(d.value) for d in digits) and len(item.answer) == 3


def test_compare_has_a_unique_answer():
    for seed in range(50):
        item = _scene("compare", 3, seed)
        counts = {}
        for o in item.objects:
            counts[o.colour] = counts.get(o.colour, 0) + 1
        best = max(counts.values())
        assert [c for c, n in counts.items() if n == best] == [item.answer]


def test_arith_sums_colour_counts():
    for seed in range(50):
        item = _scene("arith", 3, seed)
        named = [w.strip(",") for w in item.question.split() if w.strip(",") in ("red", "green", "blue", "yellow")]
        total = sum(1 for o in item.objects if isinstance(o, Shape) and o.colour in named)
        assert len(named) == 3 and item.answer == str(total)


def test_objects_never_share_a_cell():
    for family in MAKERS:
        for seed in range(30):
            cells = [o.cell for o in _scene(family, 3, seed).objects]
            assert len(cells) == len(set(cells)) and all(0 <= c < 16 for c in cells)


def test_scoring_uses_the_verifiers_and_aggregates_per_family_and_level():
    benchmark = SyntheticBenchmark()
    prompts = benchmark.load("test", 12, seed=0)
    verdicts = [benchmark.score(p, f"<answer>{p.answer}</answer>") for p in prompts[:6]]
    verdicts += [benchmark.score(p, "<answer>wrong</answer>") for p in prompts[6:]]
    scores = benchmark.aggregate(prompts, verdicts)
    assert scores["accuracy"] == 0.5
    assert scores["level/1"] == pytest.approx(
        sum(v.correct for p, v in zip(prompts, verdicts) if p.meta["level"] == 1) / 4
    )
    assert verify("<think>x</think><answer>07</answer>", "7", verifier="numeric").correct


def test_bad_split_family_or_level_is_a_clear_error():
    with pytest.raises(UserError, match="unknown split 'dev'"):
        generate_split("dev", 3, 0)
    with pytest.raises(UserError, match="unknown family 'colour'"):
        generate_split("train", 3, 0, families=["colour"])
    with pytest.raises(UserError, match="unknown level 4"):
        generate_split("train", 3, 0, levels=[4])
