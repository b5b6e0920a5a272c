"""MathVision's scoring rules, as pure functions (benchmarks.md §2.3).

Official ``is_equal(gt, pred)``: lowercase exact match → tuple/list evaluation → ``round(eval(latex2sympy(x)), 2)``
equality; an MC item is correct when the prediction equals the gold letter **or** the gold option's text.
Here, without ``eval`` of model text:

- MC (``options`` non-empty, gold a letter A–E) → ``choice`` with ``options`` (letter or exact option text);
- a gold the bounded number parser reads (``12``, ``\\frac{3}{4}``, ``2\\sqrt{3}``) → ``numeric`` with
  ``precision=2`` (the official two-decimal rounding: ``0.75`` = ``3/4``, ``3.46`` = ``2\\sqrt{3}``);
- any other gold (tuples, expressions) → ``math`` (math-verify in a worker) with ``abs_tol=0.005`` for the same
  two-decimal numeric fallback.
"""

from __future__ import annotations

from npo_bench.verify.arith import parse_number

LETTERS = "ABCDE"


def rule_for(answer: str, options: list[str]) -> tuple[str, dict]:
    if options:
        return "choice", {"options": options}
    if parse_number(answer) is not None:
        return "numeric", {"precision": 2}
    return "math", {"abs_tol": 0.005}
