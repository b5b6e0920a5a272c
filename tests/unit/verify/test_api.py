"""The public API: auto routing, registry dispatch (third-party verifiers by name), verify_many, errors."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from fractions import Fraction

import pytest

import npo_bench_plugins.verifiers as builtin_verifiers
from npo_bench import hookimpl
from npo_bench.errors import UserError
from npo_bench.host import PluginHost, set_host
from npo_bench.verify import Verdict, Verifier, pool, reward, verify, verify_many
from npo_bench.verify.auto import pick


@pytest.mark.parametrize(
    ("gold", "options", "expected"),
    [
        ("B", {}, "choice"),
        ("(C)", {}, "choice"),
        ("A, C", {}, "choice"),
        (["A", "C"], {}, "choice"),
        ("42", {"options": ["41", "42"]}, "choice"),
        ("3", {}, "numeric"),
        ("-3.5", {}, "numeric"),
        ("1,234", {}, "numeric"),
        ("60%", {}, "numeric"),
        (7, {}, "numeric"),
        (0.5, {}, "numeric"),
        (Fraction(1, 3), {}, "numeric"),
        ("yes", {}, "yes_no"),
        ("False", {}, "yes_no"),
        (True, {}, "yes_no"),
        ("red", {}, "exact"),
        ("New York", {}, "exact"),
        (["NYC", "New York"], {}, "exact"),
        ("\\frac{1}{2}", {}, "math"),
        ("3\\sqrt{2}", {}, "math"),
        ("x", {}, "math"),
        ("b", {}, "math"),  # a lone lower-case letter may be a variable
        ("infinity", {}, "math"),
        ("y=2x+1", {}, "math"),
        ("1/2", {}, "math"),
    ],
)
def test_auto_pick(gold, options, expected):
    assert pick(gold, options) == expected


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        ("<think>1+2=3</think><answer>3</answer>", "3", True),
        ("<answer>Red</answer>", "red", True),
        ("Answer: (B)", "B", True),
        ("\\boxed{\\frac{2}{4}}", "\\frac{1}{2}", True),
        ("Yes.", "yes", True),
        ("<answer>4</answer>", "3", False),
    ],
)
def test_auto_end_to_end(response, gold, correct):
    assert verify(response, gold).correct is correct


def test_auto_drops_options_meant_for_other_verifiers():
    assert verify("14.28", "14.3", precision=1).correct  # numeric takes precision
    assert verify("B", "B", precision=1).correct  # choice does not, and it is not an error under auto


def test_unknown_option_has_a_did_you_mean():
    with pytest.raises(UserError, match="unknown option 'precison'") as info:
        verify("3", "3", precison=1)
    assert "precision" in info.value.hint
    with pytest.raises(UserError, match="unknown option"):
        verify("3", "3", verifier="numeric", options=["a"])


def test_unknown_verifier_has_a_did_you_mean():
    with pytest.raises(UserError, match="unknown verifier 'numerc'") as info:
        verify("3", "3", verifier="numerc")
    assert "numeric" in info.value.hint


def test_builtins_are_registered_with_descriptions(verifier_host):
    names = verifier_host.registry("verifier").names()
    assert names == ["choice", "exact", "format", "math", "numeric", "yes_no"]
    assert all(reg.description for reg in verifier_host.registry("verifier"))


def test_entry_point_wiring_and_light_imports():
    """The real entry point registers the built-ins; importing the API does not import sympy or math-verify."""
    script = (
        "import sys\n"
        "from npo_bench.host import PluginHost\n"
        "from npo_bench.verify import verify\n"
        "host = PluginHost()\n"
        "print(host.registry('verifier').names())\n"
        "assert host.get('verifier', 'numeric').load()('<answer>3</answer>', '3').correct\n"
        "print('sympy' in sys.modules, 'math_verify' in sys.modules)\n"
    )
    env = {**os.environ, "NPO_BENCH_LOAD_PLUGINS": "verifiers"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    names, imported = out.stdout.strip().splitlines()
    assert names == "['choice', 'exact', 'format', 'math', 'numeric', 'yes_no']"
    assert imported == "False False"


class _Shout(Verifier):
    """A third-party verifier built on the base class."""

    name = "shout"
    accepts = frozenset({"volume"})

    def judge(self, found, expected, options):
        return Verdict.judged(found.text == str(expected).upper(), found.text, found.rule)


def _length_verifier(response, gold, **options):
    """A third-party verifier that is a plain function."""
    return Verdict.judged(len(response) == int(gold), response, None)


class _ThirdParty:
    @hookimpl
    def npo_bench_register_verifiers(self, register):
        register("shout", _Shout, description="upper-case answers")
        register("length", _length_verifier)


@pytest.fixture
def host_with_plugin():
    host = PluginHost(load_entry_points=False)
    host.register(builtin_verifiers, name="verifiers")
    host.register(_ThirdParty(), name="third_party")
    previous = set_host(host)
    yield host
    set_host(previous)


def test_third_party_verifiers_work_by_name(host_with_plugin):
    assert verify("<answer>RED</answer>", "red", verifier="shout").correct
    assert not verify("<answer>red</answer>", "red", verifier="shout", volume=3).correct
    assert verify("abc", "3", verifier="length").correct
    results = verify_many([("abc", "3"), ("<answer>X</answer>", "3")], verifier="length")
    assert [r.correct for r in results] == [True, False]


def test_duplicate_registration_is_an_error():
    class Clash:
        @hookimpl
        def npo_bench_register_verifiers(self, register):
            register("math", _length_verifier)

    host = PluginHost(load_entry_points=False)
    host.register(builtin_verifiers, name="verifiers")
    host.register(Clash(), name="clash")
    with pytest.raises(UserError, match="registered twice"):
        host.registry("verifier")


def test_verify_many_keeps_order_and_mixes_verifiers():
    items = [
        ("<answer>3</answer>", "3"),
        {"response": "\\boxed{\\frac{1}{2}}", "gold": "0.5", "verifier": "math"},
        ("Answer: C", "B"),
        {"response": "\\boxed{(x+1)^2}", "gold": "x^2+2x+1", "verifier": "math"},
        {"response": "14.28", "gold": "14.3", "verifier": "numeric", "options": {"precision": 1}},
        {"response": "\\boxed{2x+7}", "gold": "y=2x+1"},
        ("<answer>red</answer>", "red"),
    ]
    verdicts = verify_many(items)
    assert [v.correct for v in verdicts] == [True, True, False, True, True, False, True]
    assert verify_many([]) == []


def _slow_heavy(response, gold, **options):
    time.sleep(0.1)
    return Verdict.judged(response == gold, response, None)


_slow_heavy.heavy = True


def test_verify_many_runs_heavy_verifiers_in_parallel(monkeypatch):
    class Plugin:
        @hookimpl
        def npo_bench_register_verifiers(self, register):
            register("slow", _slow_heavy)

    host = PluginHost(load_entry_points=False)
    host.register(builtin_verifiers, name="verifiers")
    host.register(Plugin(), name="slow_plugin")
    previous = set_host(host)
    monkeypatch.setattr(pool, "_SIZE", pool._SIZE)  # verify_many(workers=…) resizes the pool; undo afterwards
    try:
        items = [(str(i), str(i % 3)) for i in range(8)] + [("<answer>3</answer>", "3")]
        start = time.perf_counter()
        verdicts = verify_many(items, workers=4, verifier="slow")
        elapsed = time.perf_counter() - start
    finally:
        set_host(previous)
    assert [v.correct for v in verdicts] == [i % 3 == i for i in range(8)] + [False]
    assert elapsed < 0.6  # 9 × 0.1 s on 4 threads


def test_verify_many_names_the_bad_item():
    with pytest.raises(UserError, match="item 1"):
        verify_many([("3", "3"), ("3", "")], verifier="numeric")
    with pytest.raises(UserError, match="item 'q7'"):
        verify_many([{"response": "3", "gold": "", "item_id": "q7", "verifier": "numeric"}])
    with pytest.raises(UserError, match="verify_many item 0"):
        verify_many([{"answer": "3"}])
    with pytest.raises(UserError, match="verify_many item 0"):
        verify_many(["just a string"])
    with pytest.raises(UserError, match="workers must be at least 1"):
        verify_many([("3", "3")], workers=0)


def test_verdict_is_frozen_and_reward_is_exported():
    verdict = verify("3", "3")
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.correct = False
    assert reward("<think>a</think><answer>3</answer>", "3", format_weight=0.1)[0] == pytest.approx(1.0)
