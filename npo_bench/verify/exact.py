"""Normalised exact string match (benchmarks.md §4.4 step 6 "normalised exact match (lowercase, strip punctuation/
articles)"). No substring or length-ratio rule: those are the false positives §4.3 warns about.

Normalisation: Unicode NFKC, ``\\text{…}``/``$``/markdown removed, lower case (``case_sensitive=False``), punctuation
to spaces, the articles a/an/the dropped (``strip_articles=True``), whitespace collapsed. Gold may be a list of
accepted answers (aliases).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from npo_bench.errors import UserError
from npo_bench.verify.base import Verifier, gold_error, is_blank
from npo_bench.verify.extract import Extraction
from npo_bench.verify.verdict import NO_ANSWER, Verdict

_LATEX_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox|rm|operatorname)\s*\{([^{}]*)\}")
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b", re.IGNORECASE)


def normalise(text: str, *, case_sensitive: bool = False, strip_articles: bool = True) -> str:
    """The comparable form of an answer string."""
    text = unicodedata.normalize("NFKC", text[-2000:])
    if "\\" in text:
        text = _LATEX_TEXT.sub(r"\1", text)
    if not case_sensitive:
        text = text.lower()
    text = _PUNCTUATION.sub(" ", text)
    if strip_articles:
        text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


class ExactVerifier(Verifier):
    """Normalised exact match of strings (case, punctuation, articles, LaTeX text); gold may list aliases."""

    name = "exact"
    accepts = frozenset({"case_sensitive", "strip_articles"})

    def parse_gold(self, gold: Any, options: dict[str, Any]) -> frozenset[str]:
        if is_blank(gold):
            raise gold_error(self.name, gold, options, "it is empty")
        flags = _flags(options)
        golds = gold if isinstance(gold, (list, tuple, set, frozenset)) else [gold]
        accepted = frozenset(normalise(str(item), **flags) for item in golds) - {""}
        if not accepted:
            raise gold_error(self.name, gold, options, "nothing is left after normalisation")
        return accepted

    def judge(self, found: Extraction, expected: frozenset[str], options: dict[str, Any]) -> Verdict:
        said = normalise(found.text, **_flags(options))
        if not said:
            return Verdict.failed(NO_ANSWER, found.text, found.rule)
        return Verdict.judged(said in expected, found.text, found.rule)


def _flags(options: dict[str, Any]) -> dict[str, bool]:
    flags = {
        "case_sensitive": options.get("case_sensitive", False),
        "strip_articles": options.get("strip_articles", True),
    }
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise UserError(f"option {name} must be true or false, not {value!r}")
    return flags


EXACT = ExactVerifier()
