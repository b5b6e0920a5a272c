"""Hostile output: size caps, pathological expressions, injection strings, bad encodings, hard timeouts, no leaks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from npo_bench.errors import UserError
from npo_bench.verify import pool, verify
from npo_bench.verify.safety import MAX_RESPONSE_CHARS, refusal, sanitize

CHEAP = ["choice", "numeric", "yes_no", "exact", "format"]
GOLD = {"choice": "B", "numeric": "3", "yes_no": "yes", "exact": "red", "format": None, "math": "3"}
MEGABYTE = 1_000_000

ADVERSARIAL = {
    "1 MB of text": "x" * MEGABYTE,
    "1 MB of open braces": "{" * MEGABYTE,
    "1 MB of \\boxed{": "\\boxed{" * (MEGABYTE // 7),
    "1 MB of <answer>": "<answer>" * (MEGABYTE // 8),
    "1 MB of 'Answer:'": "Answer: " * (MEGABYTE // 8),
    "1 MB of 'the answer is'": "the answer is " * (MEGABYTE // 14),
    "1 MB of digits": "9" * MEGABYTE,
    "1 MB of letters and parens": "(A) " * (MEGABYTE // 4),
    "1 MB of spaces then a word": " " * MEGABYTE + "cm",
    "power tower": "\\boxed{10^{10^{10^{10}}}}",
    "10 000 nested braces": "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "10 000 nested parentheses": "(" * 10_000 + "1" + ")" * 10_000,
    "python injection": "__import__('os').system('touch /tmp/npo_bench_pwned')",
    "python injection boxed": "\\boxed{__import__('os').system('touch /tmp/npo_bench_pwned')}",
    "eval in answer tag": "<answer>eval('1+1')</answer>",
    "NUL bytes": "\x00" * 1000 + "<answer>\x003\x00</answer>",
    "lone surrogates": "\ud800\udfff\ud83d<answer>3</answer>",
    "huge factorial": "\\boxed{100000!}",
    "huge exponent": "\\boxed{2^{1000000}}",
    "huge number": "\\boxed{" + "7" * 5000 + "}",
    "unbalanced everything": "\\boxed{\\frac{\\sqrt{(]" * 1000,
    "regex bait": "a" * 50_000 + "!",
}


@pytest.mark.parametrize("verifier", CHEAP)
@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_cheap_verifiers_survive(verifier, name):
    start = time.perf_counter()
    verdict = verify(ADVERSARIAL[name], GOLD[verifier], verifier=verifier)
    assert time.perf_counter() - start < 1.0
    assert verdict.correct in (True, False) and 0.0 <= verdict.score <= 1.0
    assert not os.path.exists("/tmp/npo_bench_pwned")


CORRECT_ONCE_CLEANED = {"NUL bytes", "lone surrogates"}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_math_survives(name):
    start = time.perf_counter()
    verdict = verify(ADVERSARIAL[name], "3", verifier="math")
    assert time.perf_counter() - start < 4.0  # the hard timeout (3 s) bounds everything
    assert verdict.correct is (name in CORRECT_ONCE_CLEANED)
    assert not os.path.exists("/tmp/npo_bench_pwned")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("power tower", "refused: power tower"),
        ("huge factorial", "refused: huge factorial"),
        ("huge exponent", "refused: huge exponent"),
        ("10 000 nested braces", "too large"),  # the size limit comes first
        ("huge number", "too large"),
    ],
)
def test_math_refuses_before_sympy(name, reason):
    assert verify(ADVERSARIAL[name], "3", verifier="math").reason == reason


def test_math_refuses_deep_nesting():
    response = "\\boxed{" + "{" * 60 + "1" + "}" * 60 + "}"
    assert verify(response, "3", verifier="math").reason == "refused: nesting too deep"


def test_math_refuses_a_huge_gold():
    with pytest.raises(UserError, match="huge number"):
        verify("1", "7" * 1500, verifier="math", item_id=1)


def test_oversized_math_answer_is_too_large():
    assert verify("\\boxed{" + "x+" * 600 + "1}", "3", verifier="math").reason == "too large"


@pytest.mark.parametrize("verifier", ["numeric", "math", "exact"])
def test_answer_after_a_megabyte_is_still_found(verifier):
    gold = "red" if verifier == "exact" else "3"
    response = "x" * MEGABYTE + f"\n<answer>{gold}</answer>"
    assert verify(response, gold, verifier=verifier).correct


@pytest.mark.parametrize(
    "response",
    ["\x00<answer>3</answer>", "<answer>3\x00</answer>", "\udc80<answer>3</answer>", b"\xff\xfe<answer>3</answer>"],
)
def test_bad_encodings_are_cleaned(response):
    assert verify(response, "3", verifier="numeric").correct


def test_sanitize():
    assert sanitize("a" * 10 + "tail", max_chars=4) == "tail"
    assert sanitize(None) == ""
    assert "\x00" not in sanitize("a\x00b")
    assert sanitize("\ud800x?").encode("utf-8") == "\ufffd\ufffd\ufffdx?".encode()  # no UnicodeEncodeError
    assert len(sanitize("y" * (2 * MAX_RESPONSE_CHARS))) == MAX_RESPONSE_CHARS
    with pytest.raises(TypeError):
        sanitize(3)


@pytest.mark.parametrize(
    ("expr", "why"),
    [
        ("10^{10^{10^{10}}}", "power tower"),
        ("2**2**2**2", "power tower"),
        ("2^2^2^2", "power tower"),
        ("10^{10^{10}}", "huge exponent"),
        ("9^{9^{9}}", "huge exponent"),
        ("10**100000", "huge exponent"),
        ("\\sum_{k=1}^{10^9} k", "huge exponent"),
        ("1001!", "huge factorial"),
        ("(10^{5})!", "huge factorial"),
        ("(3!)!", "huge factorial"),
        ("{" * 51 + "}" * 51, "nesting too deep"),
        ("1" * 1001, "huge number"),
        ("2^{10}", None),
        ("2^{2^{3}}", None),
        ("e^{-x^2/2}", None),
        ("x^{2}+3x", None),
        ("1000!", None),
        ("n!", None),
        ("x!=3", None),
        ("\\frac{1}{2}^{3}", None),
    ],
)
def test_refusal(expr, why):
    assert refusal(expr) == why


# ---- the hard timeout ------------------------------------------------------------------------------------------
@pytest.fixture
def sleep_pool():
    worker_pool = pool.WorkerPool("time:sleep", size=2)
    yield worker_pool
    worker_pool.close()


def test_timeout_kills_and_replaces_the_worker(sleep_pool):
    assert sleep_pool.call(0.0, timeout=30) == ("ok", None)
    first = sleep_pool.process_ids
    start = time.perf_counter()
    assert sleep_pool.call(60, timeout=0.3) == ("timeout", None)
    assert 0.3 <= time.perf_counter() - start < 1.5
    assert sleep_pool.call(0.0, timeout=30) == ("ok", None)  # a fresh worker took over
    assert set(sleep_pool.process_ids).isdisjoint(first)


def test_timeout_works_off_the_main_thread(sleep_pool):
    results = []
    threads = [threading.Thread(target=lambda: results.append(sleep_pool.call(60, timeout=0.2))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [("timeout", None), ("timeout", None)]


def test_worker_errors_are_reported(sleep_pool):
    status, message = sleep_pool.call("not a number", timeout=30)
    assert status == "error" and "TypeError" in message


def test_missing_handler_is_a_start_error():
    broken = pool.WorkerPool("npo_bench_no_such_module:check", size=1)
    with pytest.raises(pool.WorkerStartError, match="npo_bench_no_such_module"):
        broken.call(timeout=5)
    broken.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


def test_close_stops_workers(sleep_pool):
    sleep_pool.warm_up()
    pids = sleep_pool.process_ids
    assert len(pids) == 2
    sleep_pool.close()
    assert not any(_alive(pid) for pid in pids)


def test_no_workers_survive_interpreter_exit():
    script = (
        "from npo_bench.verify.pool import get_pool\np = get_pool('time:sleep'); p.warm_up(2); print(*p.process_ids)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    pids = [int(pid) for pid in out.stdout.split()]
    assert len(pids) == 2
    deadline = time.time() + 5
    while any(_alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)


def test_math_verifier_runs_in_a_thread():
    verdicts = []
    thread = threading.Thread(target=lambda: verdicts.append(verify("\\boxed{(x+1)^2}", "x^2+2x+1", verifier="math")))
    thread.start()
    thread.join(30)
    assert verdicts and verdicts[0].correct


@pytest.mark.slow
def test_math_timeout_end_to_end(monkeypatch):
    """A comparison sympy needs ~10 s for becomes a timeout verdict within the limit (isolated pool)."""
    monkeypatch.setattr(pool, "_POOLS", {})
    from npo_bench.verify.math import HANDLER

    pool.get_pool(HANDLER).warm_up(1)
    start = time.perf_counter()
    verdict = verify("\\boxed{(x+y+z+1)^{30}}", "(x+y+z)^{30}", verifier="math", timeout=0.5)
    elapsed = time.perf_counter() - start
    pool.get_pool(HANDLER).close()
    assert verdict.reason == "timeout" and not verdict.correct
    assert elapsed < 1.5


def test_worker_memory_is_capped(monkeypatch):
    monkeypatch.setenv("NPO_BENCH_VERIFY_WORKER_MEMORY_MB", "100")
    capped = pool.WorkerPool("builtins:bytearray", size=1)
    try:
        assert capped.call(10, timeout=30)[0] == "ok"
        assert capped.call(1 << 30, timeout=30) == ("error", "MemoryError")  # 1 GiB
        assert capped.call(10, timeout=30)[0] == "ok"  # the worker survives
    finally:
        capped.close()
