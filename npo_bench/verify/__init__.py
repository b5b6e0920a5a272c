"""Verifiers: one function is the GRPO reward, the benchmark scorer and NPO's guide filter.

Stable API::

    from npo_bench.verify import verify, verify_many, reward, Verdict

    verify("<think>1+2=3</think><answer>3</answer>", "3")          # auto → numeric → Verdict(correct=True, …)
    verify(response, "B", verifier="choice", options=["1", "2"])  # any registered verifier, by name
    verify_many([(response, gold), ...], workers=4)                  # in order; math in parallel
    score, verdict = reward(response, gold, format_weight=0.1)      # 0.9·accuracy + 0.1·format

Importing this package is cheap: sympy and math-verify are only imported inside the math worker processes.
See docs/verifiers.md for each verifier's rules and options, the safety guarantees and the reasons list.
"""

from __future__ import annotations

from npo_bench.verify.api import reward, verify, verify_many, warm_up
from npo_bench.verify.base import Verifier
from npo_bench.verify.verdict import Verdict

__all__ = ["Verdict", "Verifier", "reward", "verify", "verify_many", "warm_up"]
