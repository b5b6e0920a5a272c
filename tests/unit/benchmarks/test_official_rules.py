"""The building blocks of the official-rule verifiers: hedges, values of worded golds, VLMEvalKit's token rule, the
latex2sympy-like reading of MathVision answers, and the hard timeout of the symbolic steps (the RL reward path)."""

from __future__ import annotations

import pytest

from npo_bench.verify import verify, verify_many
from npo_bench_benchmarks.common.answers import hedged, reduce_to_value
from npo_bench_benchmarks.common.vlmevalkit import infer_option, infer_text
from npo_bench_benchmarks.mathvision.rules import model_answer, value
from npo_bench_benchmarks.mathvista.rules import levenshtein


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("B or J", True), ("A, C", True), ("(B)/(D)", True), ("either A or B", True), ("B or J, depending on x", True),
     ("C. Reduce A and B", False), ("(F) C, A, B, D", False), ("H. D/(B+D)", False), ("B", False), ("B or B", False)],
)  # fmt: skip
def test_hedges_are_letter_lists_not_option_texts(answer, expected):
    assert hedged(answer) is expected


@pytest.mark.parametrize(
    ("gold", "value_"),
    [("Area $=9 \\pi \\mathrm{cm}^{2}$", "9 \\pi"), ("y=2x+1", "2x+1"), ("x^2+y^2=1", "x^2+y^2=1"),
     ("60^\\circ", "60"), ("5 cm", "5"), ("\\angle ABC = 60°", "60"), ("9\\pi{cm}^2", "9\\pi"), ("2x", "2x")],
)  # fmt: skip
def test_free_form_golds_are_reduced_to_their_value(gold, value_):
    assert reduce_to_value(gold) == value_


def test_vlmevalkit_token_rule_quirks():
    assert infer_option("The answer is C", "ABCD") == "C"
    assert infer_option("C is what I pick after a long look at it", "ABCD") is None  # C not in the last four tokens
    assert infer_option("A green car.", "ABCD") == "A"  # the article is a token "A"
    assert infer_option("the answer is a bit unclear", "ABCD") == "A"  # the verbose regex ignores case
    assert infer_option("Cannot determine the answer", "ABCD") == "Z"
    assert infer_text("yellowish", {"A": "red", "B": "yellow"}) == "B"  # substring
    assert infer_text("12", {"A": "1", "B": "2"}) is None  # two option texts


def test_mathvision_reads_answers_as_its_scorer_does():
    assert model_answer("so the answer is (C).") == "c"
    assert (
        model_answer("$\\boxed{\\frac{8}{9}}$.The answer is: \\frac{8}{9}") == "\\frac{8}{9}}.theansweris:\\frac{8}{9"
    )
    assert value("\\frac{8}{9}}.theansweris:\\frac{8}{9") == pytest.approx(8 / 9)  # stops at the unmatched }
    assert value("3:2") == pytest.approx(1.5) and value("\\displaystyle\\frac{3}{4}") == pytest.approx(0.75)
    assert model_answer("The answer is 0.5") == "\\frac{1}{2}"


def test_levenshtein():
    assert levenshtein("35", "35°") == 1 and levenshtein("kitten", "sitting") == 3 and levenshtein("", "abc") == 3


@pytest.mark.slow  # starts, kills and restarts a math worker process
def test_symbolic_steps_keep_the_hard_timeout():
    slow = verify("<answer>(x+1)^{2}</answer>", "x^2+2x+1", verifier="mathverse_rule", question_type="free-form",
                  timeout=1e-4)  # fmt: skip
    assert not slow.correct and slow.reason == "timeout"
    fine = verify("<answer>(x+1)^{2}</answer>", "x^2+2x+1", verifier="mathverse_rule", question_type="free-form")
    assert fine.correct and fine.rule == "ours:math_verify"
    refused = verify("<answer>10^{10^{10^{10}}}</answer>", "1+x", verifier="mathvision_rule")
    assert not refused.correct and refused.reason.startswith("refused")


@pytest.mark.slow  # starts two math worker processes
def test_the_symbolic_verifiers_run_in_parallel_in_verify_many():
    items = [{"response": "\\boxed{x^2+1}", "gold": "1+x^2", "verifier": "mathvision_rule"}] * 3
    assert [v.correct for v in verify_many(items, workers=2)] == [True] * 3
