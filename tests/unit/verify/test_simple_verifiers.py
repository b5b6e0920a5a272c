"""yes_no, exact and format, plus the composite reward (benchmarks.md §4.1 step 5, §4.4 step 6)."""

from __future__ import annotations

import pytest

from npo_bench.errors import UserError
from npo_bench.verify import reward, verify

YES_NO = [
    ("Yes", "yes", True, "matched"),
    ("yes.", "Yes", True, "matched"),
    ("No, there is no dog.", "no", True, "matched"),
    ("**Yes**, because the bar is taller.", "yes", True, "matched"),
    ("The answer is no", "no", True, "matched"),
    ("<think>hmm</think><answer>no</answer>", "yes", False, "mismatch"),
    ("True", "yes", True, "matched"),
    ("false", "False", True, "matched"),
    ("Yes", True, True, "matched"),
    ("It is not possible to determine from the image.", "no", False, "no answer found"),  # HallusionBench hedge
    ("The answer cannot be determined.", "yes", False, "no answer found"),
    ("maybe yes, maybe no", "yes", False, "no answer found"),
    ("Probably", "yes", False, "no answer found"),
]


@pytest.mark.parametrize(("response", "gold", "correct", "reason"), YES_NO)
def test_yes_no(response, gold, correct, reason):
    verdict = verify(response, gold, verifier="yes_no")
    assert (verdict.correct, verdict.reason) == (correct, reason), verdict


EXACT = [
    ("<answer>red</answer>", "red", {}, True, "matched"),
    ("<answer>Red</answer>", "red", {}, True, "matched"),
    ("<think>two circles, one red</think><answer>circle</answer>", "circle", {}, True, "matched"),
    ("<think>x</think>\ncircle", "circle", {}, True, "matched"),  # no <answer>: the last line
    ("Answer: the circle.", "circle", {}, True, "matched"),
    ("**Blue**", "blue", {}, True, "matched"),
    ("\\boxed{\\text{New York}}", "new york", {}, True, "matched"),
    ("<answer>red</answer>", "blue", {}, False, "mismatch"),
    ("The shape is a red circle.", "circle", {}, False, "mismatch"),  # no substring rule (§4.3 false positives)
    ("<answer>NYC</answer>", ["New York", "NYC"], {}, True, "matched"),  # aliases
    ("<answer>Red</answer>", "red", {"case_sensitive": True}, False, "mismatch"),
    ("<answer>the circle</answer>", "circle", {"strip_articles": False}, False, "mismatch"),
    ("<answer>!!!</answer>", "red", {}, False, "no answer found"),
]


@pytest.mark.parametrize(("response", "gold", "options", "correct", "reason"), EXACT)
def test_exact(response, gold, options, correct, reason):
    verdict = verify(response, gold, verifier="exact", **options)
    assert (verdict.correct, verdict.reason) == (correct, reason), verdict


FORMAT = [
    ("<think>1+2=3</think><answer>3</answer>", {}, True),
    ("  <think>a</think>\n\n<answer>3</answer>\n", {}, True),
    ("<think>a</think><answer>3</answer> trailing", {}, False),
    ("preamble <think>a</think><answer>3</answer>", {}, False),
    ("<answer>3</answer>", {}, False),
    ("<answer>3</answer>", {"require_think": False}, True),
    ("<think></think><answer>3</answer>", {}, False),
    ("<think></think><answer>3</answer>", {"allow_empty_think": True}, True),
    ("<think>a</think><answer> </answer>", {}, False),
    ("<think>a</think><answer>3</answer><answer>4</answer>", {}, False),
    ("<think>a<think>b</think></think><answer>3</answer>", {}, False),
    ("<think>a</think>", {}, False),
    ("3", {}, False),
    ("", {}, False),
]


@pytest.mark.parametrize(("response", "options", "correct"), FORMAT)
def test_format(response, options, correct):
    verdict = verify(response, None, verifier="format", **options)
    assert verdict.correct is correct
    assert verdict.score == (1.0 if correct else 0.0)


@pytest.mark.parametrize(
    ("response", "gold", "weight", "expected"),
    [
        ("<think>1+2=3</think><answer>3</answer>", "3", 0.1, 1.0),
        ("3", "3", 0.1, 0.9),  # right answer, no structure
        ("<think>1+2=4</think><answer>4</answer>", "3", 0.1, 0.1),  # structure only
        ("4", "3", 0.1, 0.0),
        ("3", "3", 0.0, 1.0),
        ("<think>a</think><answer>red</answer>", "red", 0.5, 1.0),
    ],
)
def test_reward(response, gold, weight, expected):
    score, verdict = reward(response, gold, format_weight=weight)
    assert score == pytest.approx(expected)
    assert verdict.correct is (expected >= 0.5)


def test_reward_rejects_bad_weight():
    with pytest.raises(UserError, match="format_weight"):
        reward("3", "3", format_weight=1.5)


@pytest.mark.parametrize(("verifier", "gold"), [("yes_no", "maybe"), ("yes_no", ""), ("exact", ""), ("exact", "!!!")])
def test_unusable_gold(verifier, gold):
    with pytest.raises(UserError, match="item 'q1'"):
        verify("yes", gold, verifier=verifier, item_id="q1")
