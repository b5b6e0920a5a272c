"""Yes/no answers (benchmarks.md §4.4 step 6 "Yes/No canonicalisation"; §4.3 HallusionBench hedging).

Gold: yes/no/true/false (any case; ``True``/``False`` booleans too). The extracted answer's polarity is its first
word when that is yes/no/true/false, else the single polarity its words name; "yes … no" mixtures and hedges ("it is
not possible to determine", "cannot be determined", "unclear") are ``no answer found``.
"""

from __future__ import annotations

import re
from typing import Any

from npo_bench.verify.base import Verifier, gold_error, is_blank
from npo_bench.verify.extract import Extraction
from npo_bench.verify.verdict import NO_ANSWER, Verdict

POLARITY = {"yes": "yes", "true": "yes", "y": "yes", "no": "no", "false": "no", "n": "no"}
_WORD = re.compile(r"\b(yes|no|true|false)\b")
_HEDGE = re.compile(
    r"not possible to (?:determine|tell|say)|cannot be determined|can't be determined|impossible to (?:determine|tell)"
    r"|\bunclear\b|\bnot sure\b|\bunknown\b|\buncertain\b"
)
_LEADING = re.compile(r"[\s*_`'\"(\[]*([a-z]+)")


def polarity(text: str) -> str | None:
    """``"yes"``, ``"no"`` or ``None`` (no clear answer) for an extracted answer."""
    text = text[-2000:].lower()
    if _HEDGE.search(text):
        return None
    first = _LEADING.match(text)
    if first and first.group(1) in POLARITY:
        return POLARITY[first.group(1)]
    found = {POLARITY[word] for word in _WORD.findall(text)}
    return found.pop() if len(found) == 1 else None


class YesNoVerifier(Verifier):
    """Yes/no (true/false) answers; hedges and contradictions count as no answer."""

    name = "yes_no"

    def parse_gold(self, gold: Any, options: dict[str, Any]) -> str:
        if isinstance(gold, bool):
            return "yes" if gold else "no"
        if is_blank(gold):
            raise gold_error(self.name, gold, options, "it is empty")
        value = POLARITY.get(str(gold).strip().strip(".").lower())
        if value is None:
            raise gold_error(self.name, gold, options, "it is not yes/no/true/false")
        return value

    def judge(self, found: Extraction, expected: str, options: dict[str, Any]) -> Verdict:
        said = polarity(found.text)
        if said is None:
            return Verdict.failed(NO_ANSWER, found.text, found.rule)
        return Verdict.judged(said == expected, said, found.rule)


YES_NO = YesNoVerifier()
