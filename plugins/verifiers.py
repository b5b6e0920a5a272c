"""The built-in verifiers, registered through the same hook a third-party plugin uses.

Import-light: objects are registered as ``"module:attr"`` strings that the host imports on first use.
"""

from __future__ import annotations

from collections.abc import Callable

from npo_bench import hookimpl

BUILTIN_VERIFIERS: dict[str, tuple[str, str]] = {
    "math": ("npo_bench.verify.math:MATH", "symbolic math: math-verify + sympy in worker processes, hard timeout"),
    "choice": ("npo_bench.verify.choice:CHOICE", "multiple-choice letters A–J, multi-select, option text → letter"),
    "numeric": ("npo_bench.verify.numeric:NUMERIC", "numbers: tolerance, percent, separators, units, precision"),
    "yes_no": ("npo_bench.verify.yes_no:YES_NO", "yes/no (true/false); hedges count as no answer"),
    "exact": ("npo_bench.verify.exact:EXACT", "normalised exact string match (case, punctuation, articles)"),
    "format": ("npo_bench.verify.format:FORMAT", "the <think>…</think><answer>…</answer> structure"),
}


@hookimpl
def npo_bench_register_verifiers(register: Callable[..., None]) -> None:
    for name, (target, description) in BUILTIN_VERIFIERS.items():
        register(name, target, description=description)
