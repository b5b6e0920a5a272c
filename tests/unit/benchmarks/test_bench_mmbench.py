"""MMBench: circular shifts, per-pass verdicts, and circular accuracy (all passes right) by hand."""

from __future__ import annotations

import pytest
from benchmark_fixtures import mmbench_passes, mmbench_rows, png_base64, write_split

from npo_bench.benchmark import make_benchmark
from npo_bench_benchmarks.mmbench.circular import circular_correct, rotations


def test_rotations_move_the_gold_letter_with_its_option():
    assert rotations(["r", "g", "b", "y"], "C") == [
        (["r", "g", "b", "y"], "C"),
        (["g", "b", "y", "r"], "B"),
        (["b", "y", "r", "g"], "A"),
        (["y", "r", "g", "b"], "D"),
    ]
    assert rotations(["yes", "no"], "B") == [(["yes", "no"], "B"), (["no", "yes"], "A")]
    assert circular_correct([("1", 0, True), ("1", 0, False), ("2", 0, True)]) == {("1", 0): False, ("2", 0): True}


@pytest.fixture
def scored(tmp_path):
    rows = mmbench_rows()
    copy = {**rows[0][0], "index": 1_000_001, "image": png_base64("copy")}  # a TSV circular copy: skipped
    write_split(tmp_path, "dev_en", [row for row, _ in rows] + [copy])
    bench = make_benchmark("mmbench", {"data": str(tmp_path)})
    prompts = bench.load("dev", None, 0)
    responses = [response for response, _ in mmbench_passes(prompts)]
    return bench, prompts, [bench.score(p, r) for p, r in zip(prompts, responses)]


def test_each_question_is_asked_once_per_shift(scored):
    _, prompts, _ = scored
    assert len(prompts) == 5 * 4 + 2 * 2 + 3 * 3  # 4-, 2- and 3-option questions
    shifted = [p for p in prompts if p.meta["question_index"] == 2]
    assert [p.answer for p in shifted] == ["C", "B", "A", "D"]
    assert "Hint: Look at the colour.\nQuestion: Question 1" in prompts[0].question


def test_pass_verdicts(scored):
    _, prompts, verdicts = scored
    by_id = {p.id: v.correct for p, v in zip(prompts, verdicts)}
    assert [by_id[f"mmbench/3/shift{k}"] for k in range(4)] == [True, False, False, False]  # always "A", gold A
    assert [by_id[f"mmbench/4/shift{k}"] for k in range(4)] == [True, True, True, False]
    assert all(by_id[f"mmbench/2/shift{k}"] for k in range(4))  # answered with the option text
    assert [by_id[f"mmbench/7/shift{k}"] for k in range(2)] == [True, False]


def test_circular_aggregate_by_hand(scored):
    bench, prompts, verdicts = scored
    scores = bench.aggregate(prompts, verdicts)
    assert scores["accuracy"] == pytest.approx(5 / 10)  # questions 1, 2, 6, 8, 10
    assert scores["single_pass_accuracy"] == pytest.approx(9 / 10)  # all but question 5 on shift 0
    assert scores["l2_category/coarse_perception"] == pytest.approx(2 / 4)
    assert scores["l2_category/relation_reasoning"] == pytest.approx(1 / 2)
    assert scores["l2_category/logic_reasoning"] == pytest.approx(1 / 2)
    assert scores["category/ocr"] == pytest.approx(1 / 2)
    assert scores["category/image_scene"] == 1.0


def test_circular_with_two_samples_per_item(scored):
    bench, prompts, verdicts = scored
    doubled = [p for p in prompts for _ in range(2)]
    flipped = [v for v in verdicts for _ in range(2)]
    assert bench.aggregate(doubled, flipped)["accuracy"] == pytest.approx(5 / 10)


def test_answer_outside_the_options_is_named(tmp_path):
    row, _ = mmbench_rows()[5]  # two options
    write_split(tmp_path, "dev_en", [{**row, "answer": "C"}])
    with pytest.raises(Exception, match="dev_en.jsonl row 1: field 'answer': 'C' is not one of the option letters AB"):
        make_benchmark("mmbench", {"data": str(tmp_path)}).load("dev", None, 0)
