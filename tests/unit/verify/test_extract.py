"""Shared extraction: each rule, their order, reasoning stripping and unwrapping (benchmarks.md §4.4 steps 1–2)."""

from __future__ import annotations

import pytest

from npo_bench.errors import UserError
from npo_bench.verify.extract import extract, strip_reasoning, unwrap

CASES = [
    # (response, expected text, expected rule)
    ("<think>1+2=3</think><answer>3</answer>", "3", "answer_tag"),
    ("<think>1+2=3</think>\n3", "3", "last_line"),
    ("<answer>first</answer> then <answer>second</answer>", "second", "answer_tag"),
    ("<answer>unclosed 7", "unclosed 7", "answer_tag"),
    ("<answer>\\boxed{7}</answer>", "7", "answer_tag"),
    ("so \\boxed{\\frac{1}{2}} done", "\\frac{1}{2}", "boxed"),
    ("\\boxed{1} then \\boxed{2}", "2", "boxed"),
    ("\\boxed{\\{1,\\{2,3\\}\\}}", "\\{1,\\{2,3\\}\\}", "boxed"),
    ("\\boxed{a^{b^{c}}}", "a^{b^{c}}", "boxed"),
    ("ok \\boxed{1} and a truncated \\boxed{2", "1", "boxed"),
    ("\\fbox{42}", "42", "boxed"),
    ("thus \\boxed 5", "5", "boxed"),
    ("Answer: B", "B", "answer_colon"),
    ("**Answer:** (C)", "(C)", "answer_colon"),
    ("**Final Answer**: 12", "12", "answer_colon"),
    ("Final Answer: The final answer is $5$. I hope it is correct.", "5", "answer_colon"),
    ("answer: 1\nmore work\nAnswer: 2", "2", "answer_colon"),
    ("The answer is $\\frac{1}{2}$. Because 2 = 2", "\\frac{1}{2}", "answer_is"),
    ("the answer is:\n\n42\n", "42", "answer_is"),
    ("So the answer would be 3.14.", "3.14", "answer_is"),
    ("I computed it.\nThe total is 12 apples.\n\n", "The total is 12 apples", "last_line"),
    ("just text\n---\n", "just text", "last_line"),
    ("**B**", "B", "last_line"),
    ("$x = 5$", "x = 5", "last_line"),
    ("\\(\\frac{3}{4}\\)", "\\frac{3}{4}", "last_line"),
    ("\\boxed{\\text{red}}", "red", "boxed"),
]


@pytest.mark.parametrize(("response", "text", "rule"), CASES)
def test_rules(response, text, rule):
    found = extract(response)
    assert (found.text, found.rule) == (text, rule)


@pytest.mark.parametrize(
    "response", ["", "   \n\n ", "<think>never closes 5", "<think>only reasoning</think>", "\\boxed{}", "---"]
)
def test_nothing_to_extract(response):
    assert extract(response) is None


def test_order_is_configurable():
    response = "Answer: 1\n\\boxed{2}\n3"
    assert extract(response).rule == "boxed"
    assert extract(response, ["answer_colon", "boxed"]).text == "1"
    assert extract(response, "last_line").text == "3"


def test_custom_rule_callable():
    def zerobench_braces(text):
        start, end = text.rfind("{"), text.rfind("}")
        return text[start + 1 : end] if 0 <= start < end else None

    found = extract("the result is {seven}", [zerobench_braces])
    assert (found.text, found.rule) == ("seven", "zerobench_braces")


def test_unknown_rule_is_a_user_error():
    with pytest.raises(UserError, match="unknown extraction rule 'boxd'") as info:
        extract("x", ["boxd"])
    assert "boxed" in info.value.hint


@pytest.mark.parametrize(
    ("text", "stripped"),
    [
        ("<think>a</think>b", "b"),
        ("<think>a</think><think>c</think>d", "d"),
        ("truncated head</think> tail", " tail"),
        ("<thought>x</thought>y", "y"),
        ("<think>unclosed <answer>4</answer>", "<answer>4</answer>"),
        ("no tags", "no tags"),
    ],
)
def test_strip_reasoning(text, stripped):
    assert strip_reasoning(text) == stripped


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("$5$", "5"),
        ("$$x$$", "x"),
        ("**B**", "B"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("7.", "7"),
        ("\\boxed{1}+\\boxed{2}", "\\boxed{1}+\\boxed{2}"),
        ("`red`", "red"),
        ("\\text{circle}", "circle"),
    ],
)
def test_unwrap(raw, clean):
    assert unwrap(raw) == clean
