"""Numbers: tolerance, percent, separators, units, MathVista precision, integrality (benchmarks.md §4.3, §4.4)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from npo_bench.errors import UserError
from npo_bench.verify import verify
from npo_bench.verify.arith import parse_number

CASES = [
    # (response, gold, options, correct, reason)
    ("<think>1+2=3</think><answer>3</answer>", "3", {}, True, "matched"),  # the synthetic task's format
    ("<think>1+2=3</think>\n3", "3", {}, True, "matched"),  # no <answer>: the last line
    ("<think>2 red + 1 red</think><answer>4</answer>", "3", {}, False, "mismatch"),
    ("The total is 12 apples.", "12", {}, True, "matched"),
    ("12 cm", "12", {}, True, "matched"),  # units stripped (§4.3)
    ("x = 5 \\text{ kg}", "5", {}, True, "matched"),
    ("45^\\circ", "45", {}, True, "matched"),
    ("45°", "45", {}, True, "matched"),
    ("1,234", "1234", {}, True, "matched"),  # thousands separators
    ("\\$1,234.50", "1234.5", {}, True, "matched"),
    ("1,234,567 people", 1234567, {}, True, "matched"),
    ("60%", "0.6", {}, True, "matched"),  # §4.2: bare math-verify says 0.6 ≠ 60%
    ("60\\%", "0.6", {}, True, "matched"),
    ("0.6", "60%", {}, True, "matched"),
    ("60", "60%", {}, True, "matched"),  # percent on one side may match the bare number
    ("0.6%", "60%", {}, False, "mismatch"),
    ("60", "0.6", {}, False, "mismatch"),
    ("60%", "60", {"percent": "exact"}, False, "mismatch"),
    ("14.28", "14.3", {"precision": 1}, True, "matched"),  # MathVista: round the prediction (§4.3)
    ("14.28", "14.3", {}, False, "mismatch"),  # without the precision rule: wrong
    ("14.34", "14.3", {"precision": 1}, True, "matched"),
    ("14.36", "14.3", {"precision": 1}, False, "mismatch"),
    ("3.14159", "3.14", {"precision": 2}, True, "matched"),  # MathVision: round(…, 2)
    ("0.1234", "0.123", {"abs_tol": 1e-3}, True, "matched"),  # DynaMath ±0.001
    ("0.125", "0.123", {"abs_tol": 1e-3}, False, "mismatch"),
    ("3.14159", "3.1416", {}, True, "matched"),  # default rel_tol 1e-4
    ("3.15", "3.1416", {}, False, "mismatch"),
    ("3.2", "3.1416", {"rel_tol": 0.05}, True, "matched"),
    ("1000050", "1000000", {}, False, "mismatch"),  # integers must be integral, even within rel_tol
    ("999999.9", "1000000", {}, False, "mismatch"),
    ("3.0", "3", {}, True, "matched"),
    ("3.00", 3, {}, True, "matched"),
    ("-5", "-5", {}, True, "matched"),
    ("−5", "-5", {}, True, "matched"),  # Unicode minus
    ("5", "-5", {}, False, "mismatch"),
    ("\\frac{1}{2}", "0.5", {}, True, "matched"),
    ("\\frac12", "0.5", {}, True, "matched"),
    ("\\dfrac{3}{4}", "0.75", {}, True, "matched"),
    ("3/4", "0.75", {}, True, "matched"),
    ("about 3/4 of them", "0.75", {}, True, "matched"),
    ("\\frac{3}{4} of the cake", "0.75", {}, True, "matched"),
    ("3\\sqrt{2}", "4.2426", {}, True, "matched"),
    ("2\\pi", "6.2832", {}, True, "matched"),
    ("1.5 \\times 10^{3}", "1500", {}, True, "matched"),
    ("1.5e3", "1500", {}, True, "matched"),
    ("5 - 3 = 2", "2", {}, True, "matched"),
    ("\\boxed{7}", "7", {}, True, "matched"),
    ("Answer: 7", 7, {}, True, "matched"),
    ("0.5", 0.5, {}, True, "matched"),
    ("0.5", Fraction(1, 2), {}, True, "matched"),
    ("0.1", Decimal("0.1"), {}, True, "matched"),
    ("no idea", "3", {}, False, "no answer found"),
    ("", "3", {}, False, "no answer found"),
    ("1e400", "1", {}, False, "mismatch"),
]


@pytest.mark.parametrize(("response", "gold", "options", "correct", "reason"), CASES)
def test_numeric(response, gold, options, correct, reason):
    verdict = verify(response, gold, verifier="numeric", **options)
    assert (verdict.correct, verdict.reason) == (correct, reason), verdict


@pytest.mark.parametrize(
    ("text", "value", "percent"),
    [
        ("3", Fraction(3), False),
        ("-0.25", Fraction(-1, 4), False),
        ("1,234.5", Fraction(2469, 2), False),
        ("60\\%", Fraction(60), True),
        ("\\sqrt{4}", Fraction(2), False),
        ("2^{-2}", Fraction(1, 4), False),
        ("(1+2)*3", Fraction(9), False),
    ],
)
def test_parse_number(text, value, percent):
    number = parse_number(text)
    assert (number.value, number.percent) == (value, percent)


@pytest.mark.parametrize(
    "text",
    [
        "3 4",
        "1,2",
        "abc",
        "1/0",
        "0^{-1}",
        "10^{100000}",
        "(" * 60 + "1" + ")" * 60,
        "__import__('os').system('x')",
        "2**2**2**2**2**2",
    ],
)
def test_parse_number_rejects(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ("", "it is empty"),
        ("red", "not a number"),
        (True, "not a number"),
        (None, "it is empty"),
        (float("nan"), "not a number"),
    ],
)
def test_unusable_gold_names_the_item(gold, message):
    with pytest.raises(UserError, match=message) as info:
        verify("3", gold, verifier="numeric", item_id=12)
    assert "item 12" in str(info.value)


@pytest.mark.parametrize(
    "options", [{"rel_tol": -1}, {"abs_tol": "x"}, {"precision": 1.5}, {"percent": "maybe"}, {"precison": 1}]
)
def test_bad_options(options):
    with pytest.raises(UserError):
        verify("3", "3", verifier="numeric", **options)
