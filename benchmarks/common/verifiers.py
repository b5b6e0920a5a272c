"""The benchmarks' official-rule verifiers, registered through the same hook a third-party plugin uses.

Each re-implements one benchmark's official rule path (docs/benchmarks.md, "official rule → ours → why") and names
the step that decided each verdict in ``Verdict.rule`` (``official:…`` or ``ours:…`` for a documented deviation).
Registered as ``"module:attr"`` strings, imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable

from npo_bench import hookimpl

_PACKAGE = "npo_bench_benchmarks"
BENCHMARK_VERIFIERS: dict[str, tuple[str, str]] = {
    "mmmu_pro_choice": (
        f"{_PACKAGE}.mmmu_pro.rules:score",
        "MMMU-Pro: parse_multi_choice_response (Answer:, (X), X, option text; no random guess)",
    ),
    "mathvista_rule": (
        f"{_PACKAGE}.mathvista.rules:score",
        "MathVista: direct acceptance, quick extract, type normalisation, guarded nearest choice",
    ),
    "mathvision_rule": (
        f"{_PACKAGE}.mathvision.rules:score",
        "MathVision: evaluate.py's answer extraction and is_equal (bounded evaluation, 2-decimal rounding)",
    ),
    "zerobench_exact": (
        f"{_PACKAGE}.zerobench.rules:score",
        "ZeroBench: exact match of the last {…} (README rule), trimmed",
    ),
    "zerobench_braces": (
        f"{_PACKAGE}.zerobench.rules:contains",
        "ZeroBench as VLMEvalKit scores it: the gold contained in the last {…} (lenient)",
    ),
    "wemath_choice": (
        f"{_PACKAGE}.wemath.rules:score",
        "WeMath: the first letter after the last 'Answer'",
    ),
    "vlmevalkit_choice": (
        f"{_PACKAGE}.common.vlmevalkit:score_choice",
        "MMBench/MMStar: VLMEvalKit's can_infer (option letter, 'answer is X', option text)",
    ),
    "mathverse_rule": (
        f"{_PACKAGE}.mathverse.rules:score",
        "MathVerse rule mode: exact match, else option letter / value by math-verify",
    ),
}


@hookimpl
def npo_bench_register_verifiers(register: Callable[..., None]) -> None:
    for name, (target, description) in BENCHMARK_VERIFIERS.items():
        register(name, target, description=description)
