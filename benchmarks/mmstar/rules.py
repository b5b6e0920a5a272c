"""MMStar's scoring rule and option parsing, as pure functions (benchmarks.md §2.7).

Official scoring is rule-based letter matching (VLMEvalKit ``can_infer``: the response's option letter, or an
option's exact text); its GPT fallback for unparsable answers runs only with ``npo-bench eval --judge-url``
(``judge_protocol = "choice_fallback"``). Options are embedded in ``question``
(``"…\\nOptions: A: first, B: second, C: third, D: fourth"``); they are parsed so that an answer given as the
option's text also counts, as ``can_infer`` allows.
"""

from __future__ import annotations

import re

N_OPTIONS = 4  # A–D
_OPTIONS_LINE = re.compile(r"\n?\s*Options?\s*:\s*", re.IGNORECASE)
_LABEL = re.compile(r"(?:^|,\s*|\s)([A-D])\s*[:.]\s+")


def split_options(question: str) -> tuple[str, list[str]]:
    """(question stem, option texts) when the ``Options:`` block lists A, B, C… in order; else (question, [])."""
    parts = _OPTIONS_LINE.split(question, maxsplit=1)
    if len(parts) != 2:
        return question, []
    stem, block = parts
    labels = list(_LABEL.finditer(block))
    if [m.group(1) for m in labels] != list("ABCD"[: len(labels)]) or len(labels) < 2:
        return question, []
    texts = [
        block[m.end() : labels[i + 1].start() if i + 1 < len(labels) else len(block)].strip().rstrip(",").strip()
        for i, m in enumerate(labels)
    ]
    return stem.strip(), texts


def rule_for(options: list[str]) -> tuple[str, dict]:
    """Letter match over A–D, plus exact option text when the options could be parsed."""
    return ("choice", {"options": options}) if options else ("choice", {"n_options": N_OPTIONS})
