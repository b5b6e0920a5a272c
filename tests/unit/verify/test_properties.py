"""Property tests (hypothesis): a gold verifies against its own canonical renderings; nothing ever crashes."""

from __future__ import annotations

import string
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npo_bench.verify import verify

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WRAPPERS = [
    "{}",
    "\\boxed{{{}}}",
    "$\\boxed{{{}}}$",
    "<answer>{}</answer>",
    "<think>let me compute</think><answer>{}</answer>",
    "The answer is {}.",
    "Answer: {}",
    "Final Answer: The final answer is ${}$. I hope it is correct.",
    "some work\n\n{}",
]


def _terminating(value: Fraction) -> bool:
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    return den == 1


def number_renderings(value: Fraction) -> list[str]:
    p, q = value.numerator, value.denominator
    sign = "-" if value < 0 else ""
    forms = [f"{p}/{q}", f"\\frac{{{p}}}{{{q}}}", f"{sign}\\dfrac{{{abs(p)}}}{{{q}}}"]
    if abs(p) < 10 and q < 10:
        forms.append(f"{sign}\\frac{abs(p)}{q}")  # \frac12
    if _terminating(value):
        forms.append(_decimal(value))
    if q == 1:
        forms += [str(p), f"{p:,}", f"{p}.0"]
    return forms


def _decimal(value: Fraction) -> str:
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    return f"{float(value):.{digits}f}" if digits else str(value.numerator)


fractions = st.fractions(min_value=-10_000, max_value=10_000, max_denominator=64)


@FAST
@given(value=fractions, wrapper=st.sampled_from(WRAPPERS), data=st.data())
def test_numeric_gold_verifies_against_its_renderings(value, wrapper, data):
    gold = _decimal(value) if _terminating(value) else f"{value.numerator}/{value.denominator}"
    rendering = data.draw(st.sampled_from(number_renderings(value)))
    response = wrapper.format(rendering)
    assert verify(response, gold, verifier="numeric").correct, (response, gold)


@SLOW
@given(value=fractions, wrapper=st.sampled_from(WRAPPERS[1:6]), data=st.data())
def test_math_gold_verifies_against_its_renderings(value, wrapper, data):
    gold = f"\\frac{{{value.numerator}}}{{{value.denominator}}}"
    rendering = data.draw(st.sampled_from(number_renderings(value)))
    response = wrapper.format(rendering)
    assert verify(response, gold, verifier="math").correct, (response, gold)


LETTER_FORMATS = [
    "{L}",
    "({L})",
    "{L}.",
    "{L})",
    "{L}) the option text",
    "({L}) the option text",
    "Answer: {L}",
    "Answer: ({L})",
    "The answer is {L}",
    "\\boxed{{{L}}}",
    "$\\boxed{{{L}}}$",
    "**{L}**",
    "option {L}",
    "I choose option {L}.",
    "{l}",
    "({l})",
    "<answer>{L}</answer>",
    "<think>compare</think><answer>{L}</answer>",
    "The correct option is **{L}**.",
    "Final Answer: {L}",
]


@FAST
@given(letter=st.sampled_from("ABCDEFGHIJ"), form=st.sampled_from(LETTER_FORMATS))
def test_choice_gold_verifies_in_every_format(letter, form):
    response = form.format(L=letter, l=letter.lower())
    assert verify(response, letter, verifier="choice").correct, response
    assert verify(response, letter).correct, response  # auto picks choice


@FAST
@given(letters=st.sets(st.sampled_from("ABCDEFGHIJ"), min_size=2, max_size=4), data=st.data())
def test_multi_letter_gold_verifies_in_any_order(letters, data):
    order = data.draw(st.permutations(sorted(letters)))
    joiner = data.draw(st.sampled_from([", ", ",", " and ", " ", "; "]))
    gold = ", ".join(sorted(letters))
    assert verify("Answer: " + joiner.join(order), gold, verifier="choice").correct
    assert verify(f"<answer>{''.join(order)}</answer>", gold, verifier="choice").correct


words = st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=12).filter(lambda w: w not in {"the", "and"})


@FAST
@given(word=words, wrapper=st.sampled_from(WRAPPERS), case=st.sampled_from([str.lower, str.upper, str.title]))
def test_exact_gold_verifies_against_its_renderings(word, wrapper, case):
    assert verify(wrapper.format(case(word)), word, verifier="exact").correct


@FAST
@given(response=st.text(max_size=300), verifier=st.sampled_from(["choice", "numeric", "yes_no", "exact", "format"]))
def test_cheap_verifiers_never_crash(response, verifier):
    gold = {"choice": "B", "numeric": "3", "yes_no": "yes", "exact": "red", "format": None}[verifier]
    verdict = verify(response, gold, verifier=verifier)
    assert verdict.reason in {"matched", "mismatch", "no answer found"}


@SLOW
@given(response=st.text(alphabet=string.printable + "\\{}^_$", max_size=80))
def test_math_never_crashes(response):
    verdict = verify(response, "\\frac{1}{2}", verifier="math")
    known = {"matched", "mismatch", "no answer found", "too large", "timeout"}
    assert verdict.reason in known or verdict.reason.startswith("refused: ")
