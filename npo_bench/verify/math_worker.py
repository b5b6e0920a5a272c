"""The math verifier's work inside a worker process (imported only there: it pulls in sympy and math-verify).

Both sides arrive as LaTeX without delimiters and are parsed *wrapped in* ``$…$`` (benchmarks.md §4.2: bare strings
lose ``3\\sqrt{2}`` → ``3``, ``y=2x+1`` → ``2``, and letters). math-verify's signal timeouts are disabled
(``parsing_timeout=None``, ``timeout_seconds=None``; environment.md §7): the parent kills this process instead.

Speed: latex2sympy's ANTLR parser runs in full-LL prediction mode, ~10 ms per set/interval/equation. Here it uses
ANTLR's documented two-stage strategy instead: SLL prediction first (~8x faster) and, only when SLL reports a syntax
error, the original full-LL parse. ``NPO_BENCH_VERIFY_SLL=0`` turns this off; tests check both modes agree. And
sympy's ``parse_expr`` — reached for every number math-verify extracts (``sympy.Number("7")`` → ``sympify`` →
``parse_expr``) and every plain-text expression — rebuilds its namespace (``exec("from sympy import *")`` plus the
builtins, ~1 ms) on each call that passes no ``global_dict``, about two per new answer; in this process the namespace
is built once and each such call gets a fresh copy of it (:func:`install_shared_parse_namespace`; tests check the
parses are identical with and without it).
"""

from __future__ import annotations

import logging
import math
import os
from functools import lru_cache

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # "Timeout is disabled…" is expected here
logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)

_CONFIG = (LatexExtractionConfig(), ExprExtractionConfig())


def install_two_stage_parsing() -> bool:
    """Make latex2sympy try ANTLR SLL prediction first and fall back to full LL on a syntax error."""
    try:
        from antlr4.atn.PredictionMode import PredictionMode
        from latex2sympy2_extended import latex2sympy2

        converter = latex2sympy2._Latex2Sympy
        create_parser, parse_ll = converter.create_parser, converter.parse
    except (ImportError, AttributeError):  # another latex2sympy layout: keep its own behaviour
        return False
    if getattr(converter, "_npo_two_stage", False):
        return True

    def create_sll_parser(self, latex_str):
        parser = create_parser(self, latex_str)
        if getattr(self, "_npo_sll", False):
            parser._interp.predictionMode = PredictionMode.SLL
        return parser

    def parse_two_stage(self, latex_str):
        self._npo_sll = True
        try:
            return parse_ll(self, latex_str)
        except Exception:
            pass
        finally:
            self._npo_sll = False
        return parse_ll(self, latex_str)

    converter.create_parser = create_sll_parser
    converter.parse = parse_two_stage
    converter._npo_two_stage = True
    return True


if os.environ.get("NPO_BENCH_VERIFY_SLL", "1") != "0":
    install_two_stage_parsing()


def install_shared_parse_namespace() -> bool:
    """Give sympy's ``parse_expr`` a copy of one prebuilt namespace where a caller passes no ``global_dict``.

    The namespace is exactly what ``parse_expr`` builds itself in that case (``from sympy import *``, the builtin
    functions, ``max``/``min`` as ``Max``/``Min``); a fresh copy per call keeps calls independent. Patched where
    math-verify looks it up: ``sympy.parsing.sympy_parser.parse_expr`` (``sympify`` imports it at each call) and
    ``math_verify.parser.parse_expr``.
    """
    try:
        import builtins
        import types

        from math_verify import parser as math_verify_parser
        from sympy import Max, Min
        from sympy.parsing import sympy_parser
    except ImportError:
        return False
    original = sympy_parser.parse_expr
    if getattr(original, "_npo_shared_namespace", False):
        return True
    if math_verify_parser.parse_expr is not original:  # another layout: keep its own behaviour
        return False
    namespace: dict = {}
    exec("from sympy import *", namespace)  # sympy's own namespace, as parse_expr builds it
    for name, obj in vars(builtins).items():
        if isinstance(obj, types.BuiltinFunctionType):
            namespace[name] = obj
    namespace["max"] = Max
    namespace["min"] = Min

    def parse_expr(s, local_dict=None, transformations=sympy_parser.standard_transformations, global_dict=None, **kw):
        if global_dict is None:
            global_dict = dict(namespace)
        return original(s, local_dict, transformations, global_dict, **kw)

    parse_expr._npo_shared_namespace = True
    parse_expr._npo_original = original
    sympy_parser.parse_expr = parse_expr
    math_verify_parser.parse_expr = parse_expr
    return True


def uninstall_shared_parse_namespace() -> None:
    """Undo :func:`install_shared_parse_namespace` (for the tests that compare both)."""
    from math_verify import parser as math_verify_parser
    from sympy.parsing import sympy_parser

    original = getattr(sympy_parser.parse_expr, "_npo_original", None)
    if original is not None:
        sympy_parser.parse_expr = original
        math_verify_parser.parse_expr = original


install_shared_parse_namespace()


@lru_cache(maxsize=4096)
def _parse(latex: str) -> list:
    return parse(f"${latex}$", extraction_config=list(_CONFIG), parsing_timeout=None)


def _numeric_close(gold: list, pred: list, rel_tol: float, abs_tol: float) -> bool:
    """The optional numeric fallback: any pair of numeric parses within tolerance."""
    for g in gold:
        for p in pred:
            if isinstance(g, str) or isinstance(p, str):
                continue
            try:
                if not (getattr(g, "is_number", False) and getattr(p, "is_number", False)):
                    continue
                gv, pv = float(g.evalf(20)), float(p.evalf(20))
            except (TypeError, ValueError, OverflowError, AttributeError):
                continue
            if math.isfinite(gv) and math.isfinite(pv) and abs(gv - pv) <= max(abs_tol, rel_tol * abs(gv)):
                return True
    return False


def check(gold: str, answer: str, float_rounding: int, rel_tol: float | None, abs_tol: float | None) -> str:
    """``"matched"``, ``"mismatch"``, ``"no answer"`` (the answer does not parse) or ``"gold"`` (the gold does not)."""
    gold_parsed = _parse(gold)
    if not gold_parsed:
        return "gold"
    pred_parsed = _parse(answer)
    if not pred_parsed:
        return "no answer"
    if verify(gold_parsed, pred_parsed, float_rounding=float_rounding, timeout_seconds=None):
        return "matched"
    if (rel_tol or abs_tol) and _numeric_close(gold_parsed, pred_parsed, rel_tol or 0.0, abs_tol or 0.0):
        return "matched"
    return "mismatch"


def warm_up() -> None:
    """Pay sympy's first-call costs before the worker reports ready."""
    for gold, answer in (("\\frac{1}{2}", "0.5"), ("x^2+2x+1", "(x+1)^2")):
        check(gold, answer, 6, None, None)
