"""Symbolic math via math-verify in worker processes, covering every pitfall of benchmarks.md §4.2–4.3."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from npo_bench.errors import UserError
from npo_bench.verify import verify

BOX = "The answer is $\\boxed{{{}}}$."

CASES = [
    # (response, gold, options, correct, reason)
    # §4.2 "bare strings" pitfalls: wrapping in $…$ fixes each of them
    (BOX.format("4.24"), "3\\sqrt{2}", {}, False, "mismatch"),  # bare parse truncated the gold to 3
    (BOX.format("3\\sqrt{2}"), "3\\sqrt{2}", {}, True, "matched"),
    (BOX.format("\\sqrt{18}"), "3\\sqrt{2}", {}, True, "matched"),
    (BOX.format("2008"), "[2007, 2008]", {}, False, "mismatch"),  # bare parsing gave a false positive
    (BOX.format("[2007, 2008]"), "[2007, 2008]", {}, True, "matched"),
    (BOX.format("2x+1"), "y=2x+1", {}, True, "matched"),  # equations compare the right-hand side
    (BOX.format("2x+7"), "y=2x+1", {}, False, "mismatch"),  # bare parsing gave a false positive
    (BOX.format("y = 2x + 1"), "y=2x+1", {}, True, "matched"),
    (BOX.format("60\\%"), "0.6", {}, True, "matched"),
    (BOX.format("-x^2-2x+1"), "f(x) = -x^2 - 2x + 1", {}, True, "matched"),
    (BOX.format("60^\\circ"), "\\frac{\\pi}{3}", {}, False, "mismatch"),  # degrees vs radians: never equated
    (BOX.format("\\frac{\\pi}{3}"), "60", {}, False, "mismatch"),
    # §4.2 "wrapped" table
    (BOX.format("b"), "B", {}, True, "matched"),
    (BOX.format("A,C"), "A, C", {}, True, "matched"),
    (BOX.format("(-2,1)"), "(-2,1]", {}, False, "mismatch"),  # intervals respected
    (BOX.format("(-2,1]"), "(-2,1]", {}, True, "matched"),
    (BOX.format("\\{2,1\\}"), "\\{1,2\\}", {}, True, "matched"),  # sets are order-free
    (BOX.format("\\{1,3\\}"), "\\{1,2\\}", {}, False, "mismatch"),
    (BOX.format("14.28"), "14.3", {}, False, "mismatch"),  # math-verify has no precision rule …
    (BOX.format("4.24"), "3\\sqrt{2}", {"rel_tol": 1e-2}, True, "matched"),  # … the numeric fallback does
    (BOX.format("4.2"), "3\\sqrt{2}", {"rel_tol": 1e-3}, False, "mismatch"),
    (BOX.format("0.866"), "\\sin(\\pi/3)", {"abs_tol": 1e-3}, True, "matched"),  # fallback through sympy
    # environment.md §7: cases math-verify gets right
    (BOX.format("1/2"), "\\frac12", {}, True, "matched"),
    (BOX.format("\\frac{1}{2}"), "0.5", {}, True, "matched"),
    (BOX.format("0.75"), "3/4", {}, True, "matched"),
    (BOX.format("\\dfrac{3}{4}"), "0.75", {}, True, "matched"),
    (BOX.format("\\frac{\\sqrt{2}}{2}"), "\\sqrt2/2", {}, True, "matched"),
    (BOX.format("(x+1)^2"), "x^2+2x+1", {}, True, "matched"),
    (BOX.format("x^2+2x+2"), "x^2+2x+1", {}, False, "mismatch"),
    (BOX.format("3"), "x=3", {}, True, "matched"),
    (BOX.format("5"), "6", {}, False, "mismatch"),
    (BOX.format("1/3"), "1/2", {}, False, "mismatch"),
    (BOX.format("0.333333"), "1/3", {}, True, "matched"),  # math-verify's float rounding
    (BOX.format("0.3"), "1/3", {}, False, "mismatch"),
    (BOX.format("10\\%"), "0.1", {}, True, "matched"),
    (BOX.format("3.14159"), "\\pi", {}, False, "mismatch"),
    (BOX.format("3.0"), "3", {}, True, "matched"),
    # extraction variants
    ("<think>x=2</think><answer>$\\frac{2}{4}$</answer>", "\\frac{1}{2}", {}, True, "matched"),
    ("Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.", "0.5", {}, True, "matched"),
    ("so we get\n$x = 5$", "5", {}, True, "matched"),
    ("The answer is \\$5.", "5", {}, True, "matched"),
    ("\\boxed{12 \\text{ cm}}", "12", {}, True, "matched"),
    ("Thinking… no final answer", "\\frac{1}{2}", {}, False, "mismatch"),
    ("", "\\frac{1}{2}", {}, False, "no answer found"),
    ("<think>never finished 1/2", "\\frac{1}{2}", {}, False, "no answer found"),
    # gold given with delimiters or as numbers
    (BOX.format("\\frac12"), "$\\frac{1}{2}$", {}, True, "matched"),
    (BOX.format("\\frac12"), "\\boxed{\\frac{1}{2}}", {}, True, "matched"),
    (BOX.format("7"), 7, {}, True, "matched"),
    (BOX.format("0.25"), 0.25, {}, True, "matched"),
]


@pytest.mark.parametrize(("response", "gold", "options", "correct", "reason"), CASES)
def test_math(response, gold, options, correct, reason):
    verdict = verify(response, gold, verifier="math", **options)
    assert (verdict.correct, verdict.reason) == (correct, reason), verdict


def test_records_rule_and_extracted():
    verdict = verify("<answer>$x = 3$</answer>", "3", verifier="math")
    assert (verdict.rule, verdict.extracted) == ("answer_tag", "x = 3")


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ("", "it is empty"),
        ("$$", "it is empty once"),
        (True, "a boolean"),
        ("10^{10^{10^{10}}}", "power tower"),
        ("x" * 5000, "too large"),
    ],
)
def test_unusable_gold_names_the_item(gold, message):
    with pytest.raises(UserError, match=message) as info:
        verify("\\boxed{1}", gold, verifier="math", item_id="mathvision-3")
    assert "item 'mathvision-3'" in str(info.value)


@pytest.mark.parametrize("options", [{"float_rounding": 99}, {"rel_tol": -1}, {"timeout": 0}, {"timout": 1}])
def test_bad_options(options):
    with pytest.raises(UserError):
        verify("\\boxed{1}", "1", verifier="math", **options)


SLL_CORPUS = [
    *(gold for _, gold, _, _, _ in CASES if isinstance(gold, str)),
    *(response[len("The answer is $\\boxed{") : -len("}$.")] for response, *_ in CASES if response.startswith("The")),
    "x^2+2x+1", "f(x) = -x^2 - 2x + 1", "\\int_0^1 x dx", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "|x|<3",
    "x \\le 5", "\\sqrt[3]{27}", "e^{i\\pi}", "\\log_2 8", "3!", "\\binom{5}{2}", "a+b=c", "1.5\\times10^3",
    "\\{1,2\\} \\cup \\{3\\}", "(1,2)", "[1,2)", "\\infty", "-\\infty < x < 3", "x=1 \\text{ or } x=2", "\\text{red}",
    "\\angle ABC", "\\frac{1}{x}+\\frac{1}{y}", "x \\in [1,2]", "\\sin^2 x + \\cos^2 x",
    "\\lim_{x\\to0} \\frac{\\sin x}{x}",
    "(3, -4)", "\\{x \\mid x > 2\\}", "2 \\le x < 5", "\\pm 3", "\\mathbb{R}", "\\emptyset", "\\overline{AB}",
]  # fmt: skip


@pytest.mark.slow
def test_two_stage_parsing_agrees_with_full_ll():
    """The SLL-first speed-up (math_worker.install_two_stage_parsing) never changes what math-verify parses."""
    script = (
        "import json, sys\n"
        "from npo_bench.verify.math_worker import _parse\n"
        "print(json.dumps([str(_parse(x)) for x in json.loads(sys.stdin.read())]))\n"
    )
    outputs = []
    for mode in ("0", "1"):
        env = {**os.environ, "NPO_BENCH_VERIFY_SLL": mode}
        done = subprocess.run(
            [sys.executable, "-c", script], input=json.dumps(SLL_CORPUS), capture_output=True, text=True, env=env,
            timeout=300, check=True,
        )  # fmt: skip
        outputs.append(json.loads(done.stdout))
    differences = [(x, ll, sll) for x, ll, sll in zip(SLL_CORPUS, *outputs, strict=True) if ll != sll]
    assert not differences
