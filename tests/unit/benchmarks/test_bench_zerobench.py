"""ZeroBench: the README's exact match of the last {…}, multi-image rows, pass@k and all@k."""

from __future__ import annotations

import pytest
from benchmark_fixtures import write_split, zerobench_cases

from npo_bench.benchmark import make_benchmark
from npo_bench.verify import verify


@pytest.fixture
def scored(tmp_path):
    cases = zerobench_cases()
    write_split(tmp_path, "zerobench_subquestions", [row for row, _, _ in cases], ("question_images",))
    bench = make_benchmark("zerobench", {"data": str(tmp_path)})
    prompts = bench.load("zerobench_subquestions", None, 0)
    return bench, prompts, [bench.score(p, r) for p, (_, r, _) in zip(prompts, cases)], cases


def test_each_verdict(scored):
    _, prompts, verdicts, cases = scored
    assert [v.correct for v in verdicts] == [expected for _, _, expected in cases]
    assert verdicts[4].extracted == "\\frac{1}{2}" and verdicts[8].reason == "no answer found"
    assert [v.rule for v in verdicts[1:3]] == ["official:last_braces", "ours:answer_tag"]
    assert prompts[0].image.size == (128, 48)  # two images side by side
    assert prompts[0].question.endswith("For example \\boxed{42}.")


def test_the_verifier_is_registered_for_everyone():
    assert verify("x {Paris}", "paris", verifier="zerobench_exact").correct
    assert not verify("I count {13}", "3", verifier="zerobench_exact").correct
    assert verify("I count {13}", "3", verifier="zerobench_braces").correct  # VLMEvalKit's containment, opt-in


def test_accuracy_pass_at_k_and_all_at_k(scored):
    bench, prompts, verdicts, _ = scored
    assert bench.aggregate(prompts, verdicts)["accuracy"] == pytest.approx(6 / 10)
    doubled = [p for p in prompts for _ in range(2)]
    second = [verdicts[0], verdicts[1], verdicts[1], *verdicts[3:]]
    paired = [v for pair in zip(verdicts, second) for v in pair]
    scores = bench.aggregate(doubled, paired)
    assert scores["k"] == 2
    assert scores["pass@k"] == pytest.approx(6 / 10)  # item 3 right in sample 1 only
    assert scores["all@k"] == pytest.approx(5 / 10)
    assert scores["accuracy"] == pytest.approx(11 / 20)
