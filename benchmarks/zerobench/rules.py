"""ZeroBench's official answer rule (benchmarks.md §2.4; VLMEvalKit ``ZEROBench.evaluate``), as a verifier.

The response is lower-cased, the **last** ``{…}`` (non-greedy, one line) is the answer, and it is correct iff the
lower-cased gold is a **substring** of it. Lenient on purpose, as the official scorer is: gold ``3`` matches
``{13}``; ``\\boxed{\\frac{1}{2}}`` yields ``2`` (the last non-greedy ``{…}``). Registered as the
``zerobench_braces`` verifier.
"""

from __future__ import annotations

import re
from typing import Any

from npo_bench.verify import Verdict
from npo_bench.verify.base import gold_error, is_blank
from npo_bench.verify.safety import MAX_RESPONSE_CHARS, sanitize
from npo_bench.verify.verdict import NO_ANSWER

_BRACES = re.compile(r"\{(.*?)\}")
RULE = "last_braces"


def zerobench_braces(response: object, gold: Any, **options: Any) -> Verdict:
    """The official rule: ``gold.lower() in last {…} of response.lower()``."""
    if is_blank(gold):
        raise gold_error("zerobench_braces", gold, options, "it is empty")
    text = sanitize(response, options.get("max_chars", MAX_RESPONSE_CHARS)).lower()
    found = _BRACES.findall(text)
    if not found:
        return Verdict.failed(NO_ANSWER)
    parsed = found[-1]
    return Verdict.judged(str(gold).strip().lower() in parsed, parsed, RULE)
