"""MathVerse's versions and deterministic scoring rule (benchmarks.md §2.8).

The official scorer is an LLM (GPT extraction, then a 0/1 GPT judgement against ``answer`` with
``question_for_eval`` as context); ``npo-bench eval --judge-url`` runs that protocol
(:mod:`npo_bench.judge`, ``mode/judge``). By default this plugin uses the deterministic "rule"
mode of benchmarks.md §7.2 and says so in its scores (``mode/rule``): multiple-choice items by option letter
(``choice``), free-form items by math-verify with both sides wrapped in ``$…$`` (``math``: equations compare their
right-hand sides, intervals keep brackets, ``\\frac{3}{2}`` = ``1.5``). Expect rule scores below judge scores on
equations and "domain/range" pairs.
"""

from __future__ import annotations

VERSIONS = ("Text Dominant", "Text Lite", "Vision Intensive", "Vision Dominant", "Vision Only")
DEFAULT_VERSIONS = ("Vision Only",)
QUESTION_TYPES = ("multi-choice", "free-form")


def rule_for(question_type: str) -> tuple[str, dict]:
    return ("choice", {}) if question_type == "multi-choice" else ("math", {})


def wanted_versions(versions: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"all"`` → the five versions; a name or list of names → those (unknown names are a ``ValueError``)."""
    if versions == "all":
        return VERSIONS
    chosen = (versions,) if isinstance(versions, str) else tuple(versions)
    unknown = [v for v in chosen if v not in VERSIONS]
    if unknown:
        raise ValueError(f"unknown MathVerse version(s) {unknown}; known: {', '.join(VERSIONS)} or 'all'")
    return chosen
