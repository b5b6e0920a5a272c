"""The shared deviation ladder of the official-rule choice verifiers (benchmarks/common/choice.py), step by step."""

from __future__ import annotations

import pytest

from npo_bench.errors import UserError
from npo_bench.verify.verdict import NO_ANSWER
from npo_bench_benchmarks.common.answers import read_letters
from npo_bench_benchmarks.common.choice import (
    choice_response,
    final_answer_verdict,
    single,
    statement_verdict,
)
from npo_bench_benchmarks.common.scoring import no_answer

OPTIONS = {"options": ["cat", "dog", "red", "blue"]}


def _item(response, gold="B"):
    return choice_response("test_choice", {"options", "n_options"}, response, gold, dict(OPTIONS))


def _letters(item):
    return lambda answer: single(read_letters(answer, item.letters, item.texts))


def test_the_response_is_checked_and_split_into_raw_and_text():
    item = _item("<think>maybe A</think> Answer: B")
    assert (item.letters, item.expected, item.reasoning_dropped) == ("ABCD", "B", True)
    assert "maybe A" in item.raw and "maybe A" not in item.text
    with pytest.raises(UserError, match="test_choice"):
        _item("B", gold="Q")


def test_a_final_answer_decides_under_the_official_name_only_when_the_official_rule_agrees():
    item = _item("I think A. <answer>B</answer>")
    agrees = final_answer_verdict(item, "B", "official:step", _letters(item))
    differs = final_answer_verdict(item, "A", "official:step", _letters(item))
    assert (agrees.correct, agrees.extracted, agrees.rule) == (True, "B", "official:step")
    assert (differs.correct, differs.extracted, differs.rule) == (True, "B", "ours:answer_tag")


def test_a_hedged_final_answer_is_wrong_and_no_final_answer_passes_on():
    hedged = _item("<answer>B or C</answer>")
    verdict = final_answer_verdict(hedged, "B", "official:step", _letters(hedged))
    assert (verdict.correct, verdict.rule) == (False, "ours:hedged")
    plain = _item("B")
    assert final_answer_verdict(plain, "B", "official:step", _letters(plain)) is None


def test_a_statement_overrides_the_official_letter_only_when_it_names_another():
    item = _item("J. A dramatic increase. The answer is B")
    overridden = statement_verdict(item, "A", "official:letter_space", no_answer())
    assert (overridden.correct, overridden.extracted, overridden.rule) == (True, "B", "ours:answer_is")
    kept = statement_verdict(item, "B", "official:letter_space", no_answer())
    assert (kept.correct, kept.rule) == (True, "official:letter_space")


def test_nothing_read_gives_the_benchmarks_own_no_answer_verdict():
    item = _item("no idea")
    verdict = statement_verdict(item, None, "official:step", no_answer("ours:no_random_guess"))
    assert (verdict.correct, verdict.reason, verdict.rule) == (False, NO_ANSWER, "ours:no_random_guess")
