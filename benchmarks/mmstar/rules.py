"""MMStar's scoring rule and option parsing, as pure functions (benchmarks.md §2.7).

Official scoring (MMStar's evaluation is VLMEvalKit's ``ImageMCQDataset``) is rule-based option matching:
``can_infer`` (:mod:`npo_bench_benchmarks.common.vlmevalkit`: a lone option letter among the last tokens, "answer
is X", or the one option whose text the short response contains); its GPT fallback for unparsable answers runs only
with ``npo-bench eval --judge-url`` (``judge_protocol = "choice_fallback"``). On the Hugging Face copy the options are
embedded in ``question`` (``"…\\nOptions: A: first, B: second, C: third, D: fourth"``); they are parsed out so that
``can_infer_text`` has the option texts, as VLMEvalKit's TSV columns ``A``…``D`` give them.
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
    """VLMEvalKit's option matching over A–D, with the option texts when they could be parsed."""
    if options:
        return "vlmevalkit_choice", {"options": options}
    return "vlmevalkit_choice", {"n_options": N_OPTIONS}
