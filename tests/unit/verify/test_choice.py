"""Multiple choice: letter formats, multi-select, option text ↔ letter, 10 options (benchmarks.md §4.3, §4.4 step 3)."""

from __future__ import annotations

import pytest

from npo_bench.errors import UserError
from npo_bench.verify import verify

MMMU_PRO_OPTIONS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]

CASES = [
    # (response, gold, options, correct, reason)
    ("B", "B", {}, True, "matched"),
    ("(B)", "B", {}, True, "matched"),
    ("B.", "B", {}, True, "matched"),
    ("B) 42 apples", "B", {}, True, "matched"),
    ("Answer: B", "B", {}, True, "matched"),
    ("Answer: (B)", "B", {}, True, "matched"),  # math-verify extracts nothing here (environment.md §7)
    ("Answer: D) 42", "D", {}, True, "matched"),  # idem
    ("The answer is B", "B", {}, True, "matched"),
    ("b", "B", {}, True, "matched"),
    ("(b)", "B", {}, True, "matched"),
    ("\\boxed{C}", "C", {}, True, "matched"),
    ("$\\boxed{C}$", "C", {}, True, "matched"),
    ("**B**", "B", {}, True, "matched"),
    ("The correct option is **B**.", "B", {}, True, "matched"),
    ("option B", "B", {}, True, "matched"),
    ("I choose option b", "B", {}, True, "matched"),
    ("I think B is right", "B", {}, True, "matched"),
    ("So A is correct", "A", {}, True, "matched"),
    ("<think>A looks wrong</think><answer>C</answer>", "C", {}, True, "matched"),
    ("Answer: B", "C", {}, False, "mismatch"),
    ("(A)", "B", {}, False, "mismatch"),
    ("A dog is shown", "A", {}, False, "no answer found"),  # the article, not a letter
    ("I cannot tell", "I", {}, False, "no answer found"),  # the pronoun
    ("No idea.", "B", {}, False, "no answer found"),
    ("(F)", "B", {"n_options": 4}, False, "no answer found"),  # F is not an option
    # multi-select (LogicVista): order-free sets
    ("A, C", "A, C", {}, True, "matched"),
    ("A,C", "A, C", {}, True, "matched"),
    ("C and A", "A, C", {}, True, "matched"),
    ("(A) and (C)", "A,C", {}, True, "matched"),
    ("Answer: A, C", ["A", "C"], {}, True, "matched"),
    ("AC", "A, C", {}, True, "matched"),
    ("A", "A, C", {}, False, "mismatch"),  # a single-letter answer never passes a multi-letter gold
    ("A, B, C", "A, C", {}, False, "mismatch"),
    # option text → letter (MathVista stores the text; MMMU-Pro has 10 options)
    ("<answer>42</answer>", "B", {"options": ["41", "42", "43"]}, True, "matched"),
    ("The answer is 43.", "43", {"options": ["41", "42", "43"]}, True, "matched"),
    ("(C)", "43", {"options": ["41", "42", "43"]}, True, "matched"),
    ("Answer: A right triangle", "A right triangle", {"options": ["A right triangle", "A square"]}, True, "matched"),
    ("Answer: a square", "B", {"options": ["A right triangle", "A square"]}, True, "matched"),
    ("Answer: J", "J", {"options": MMMU_PRO_OPTIONS}, True, "matched"),
    ("Answer: (I)", "9", {"options": MMMU_PRO_OPTIONS}, True, "matched"),
    ("Answer: 10", "J", {"options": MMMU_PRO_OPTIONS}, True, "matched"),
    ("Answer: J", "I", {"options": MMMU_PRO_OPTIONS}, False, "mismatch"),
    ("(C)", "(C)", {}, True, "matched"),
    ("c.", "c", {}, True, "matched"),
]


@pytest.mark.parametrize(("response", "gold", "options", "correct", "reason"), CASES)
def test_choice(response, gold, options, correct, reason):
    verdict = verify(response, gold, verifier="choice", **options)
    assert (verdict.correct, verdict.reason) == (correct, reason), verdict
    assert verdict.score == (1.0 if correct else 0.0)


def test_extracted_is_the_sorted_letter_set():
    assert verify("C and A", "A, C", verifier="choice").extracted == "A,C"


@pytest.mark.parametrize(
    ("gold", "options", "message"),
    [
        ("", {}, "it is empty"),
        ("42", {}, "not a letter A–J"),
        ("K", {}, "not a letter"),
        ("E", {"n_options": 4}, "not a letter A–D"),
        ("44", {"options": ["41", "42"]}, "nor one of the options"),
        (["A", "BC"], {}, "not a letter"),
    ],
)
def test_unusable_gold_names_the_item(gold, options, message):
    with pytest.raises(UserError, match=message) as info:
        verify("A", gold, verifier="choice", item_id="mmmu-17", **options)
    assert "item 'mmmu-17'" in str(info.value)


def test_too_many_options():
    with pytest.raises(UserError, match="at most 10 options"):
        verify("A", "A", verifier="choice", options=[str(i) for i in range(11)])
