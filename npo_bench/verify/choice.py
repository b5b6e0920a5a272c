"""Multiple-choice letters (benchmarks.md §4.3 "MC gold stored as choice text", "Multi-letter answers"; §4.4 step 3).

Gold: a letter (``"B"``, ``"(B)"``, ``"b."``), several (``"A, C"``, ``"AC"``, ``["A", "C"]``), or an option's text
when ``options=[...]`` is given (MathVista stores the text). Up to 10 options, A–J (MMMU-Pro).

The extracted answer is read, in this order, as:

1. an option's text, exactly after normalising (case, spaces, ``$``, final period), when ``options`` is given;
2. the whole answer being letters: ``B``, ``(b)``, ``B.``, ``\\boxed{C}`` (already unwrapped), ``A, C``, ``A and C``;
3. "option B" / "choice B";
4. parenthesised letters ``(B)``;
5. bold letters ``**B**``;
6. a leading label ``B) text``, ``B. text``, ``B: text``;
7. standalone capital letters (``I think B is right``); an ``A`` followed by a lower-case word is the article.

The prediction is correct when its letter *set* equals the gold's (multi-select is order-free). Not replicated on
purpose: MathVista's Levenshtein-nearest-option fallback and MMMU's random guess (lenient, non-deterministic).
Options: ``options`` (list of option texts), ``n_options`` (how many letters are valid; default ``len(options)`` or 10).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from npo_bench.errors import UserError
from npo_bench.verify.base import Verifier, gold_error, is_blank
from npo_bench.verify.extract import Extraction
from npo_bench.verify.verdict import NO_ANSWER, Verdict

LETTERS = "ABCDEFGHIJ"
MAX_OPTIONS = len(LETTERS)

_SEPARATOR = r"\s*(?:,|;|/|&|\band\b|\s)\s*"
_LETTER_LIST = re.compile(r"\(?([A-Ja-j])\)?(?:" + _SEPARATOR + r"\(?([A-Ja-j])\)?)*")
_ONE = re.compile(r"\(?([A-Ja-j])\)?")
_CONCATENATED = re.compile(r"[A-J]{2,10}")
_KEYWORD = re.compile(r"\b(?:option|choice|answer)s?\b\s*[:#]?\s*\(?([A-Ja-j])\)?(?![A-Za-z])", re.IGNORECASE)
_PARENTHESISED = re.compile(r"\(([A-Ja-j])\)")
_BOLD = re.compile(r"\*\*\(?([A-J])\)?[.:)]?\*\*")
_LABEL = re.compile(r"\(?([A-Ja-j])[.):\]](?:\s|$)")
_VERB_AFTER_LETTER = r"(?:is|was|seems|would|should|must|can|looks|appears|matches|fits|and|or|because|since|as)\b"
# "A" and "I" followed by a lower-case word are the article and the pronoun, unless the word is a verb/conjunction
_STANDALONE = re.compile(
    r"(?<![A-Za-z0-9'’\\_^])(?:([B-HJ])|([AI])(?!\s+(?!" + _VERB_AFTER_LETTER + r")[a-z]))(?![A-Za-z0-9'’_])"
)
_TRAILING = " .;:!*"


def _clean(text: str) -> str:
    return text.strip().strip(_TRAILING).strip()


def _whole_letters(text: str) -> list[str] | None:
    """``B``, ``(b)``, ``A, C``, ``A and C``, ``AC``: the answer is nothing but letters."""
    if not text:
        return None
    match = _LETTER_LIST.fullmatch(text)
    if match:
        return re.findall(r"[A-Ja-j]", re.sub(r"\band\b", " ", text))
    if _CONCATENATED.fullmatch(text) and len(set(text)) == len(text):
        return list(text)
    return None


def _normalise_option(text: str) -> str:
    return " ".join(text.replace("$", "").lower().split()).rstrip(".").strip()


def letters_in(text: str, allowed: str, options: Sequence[str] = ()) -> frozenset[str]:
    """The letters a (short, extracted) answer names; empty when it names none."""
    text = _clean(text)
    if options:
        wanted = _normalise_option(text)
        for index, option in enumerate(options[: len(allowed)]):
            if _normalise_option(option) == wanted:
                return frozenset(allowed[index])
    for finder in (_whole_letters, _keyword, _parenthesised, _bold, _label, _standalone):
        found = finder(text)
        if found:
            letters = frozenset(letter.upper() for letter in found) & frozenset(allowed)
            if letters:
                return letters
    return frozenset()


def _keyword(text: str) -> list[str]:
    return _KEYWORD.findall(text) if ("ption" in text or "hoice" in text or "nswer" in text) else []


def _parenthesised(text: str) -> list[str]:
    return _PARENTHESISED.findall(text) if "(" in text else []


def _bold(text: str) -> list[str]:
    return _BOLD.findall(text) if "**" in text else []


def _label(text: str) -> list[str]:
    match = _LABEL.match(text)
    return [match.group(1)] if match else []


def _standalone(text: str) -> list[str]:
    return [match.group(1) or match.group(2) for match in _STANDALONE.finditer(text)]


@lru_cache(maxsize=4096)
def _gold_letters(gold: str | tuple[str, ...], allowed: str, options: tuple[str, ...]) -> frozenset[str] | None:
    if isinstance(gold, tuple):
        letters = [_gold_letters(item, allowed, options) for item in gold]
        if any(not part or len(part) != 1 for part in letters):
            return None
        return frozenset().union(*letters)
    text = _clean(gold)
    if options:
        wanted = _normalise_option(text)
        for index, option in enumerate(options):
            if _normalise_option(option) == wanted:
                return frozenset(allowed[index])
    letters = _whole_letters(text) or ([_ONE.fullmatch(text).group(1)] if _ONE.fullmatch(text) else None)
    if not letters:
        return None
    upper = frozenset(letter.upper() for letter in letters)
    return upper if upper <= frozenset(allowed) else None


class ChoiceVerifier(Verifier):
    """Multiple-choice letters, single or multi-select, A–J; option text maps back to its letter."""

    name = "choice"
    accepts = frozenset({"options", "n_options"})

    def parse_gold(self, gold: Any, options: dict[str, Any]) -> tuple[frozenset[str], str, tuple[str, ...]]:
        if is_blank(gold):
            raise gold_error(self.name, gold, options, "it is empty")
        texts = _option_texts(options)
        allowed = LETTERS[: _n_options(options, texts)]
        key = tuple(str(item) for item in gold) if isinstance(gold, (list, tuple, set, frozenset)) else str(gold)
        if isinstance(gold, (set, frozenset)):
            key = tuple(sorted(key))
        letters = _gold_letters(key, allowed, texts)
        if not letters:
            why = f"it is not a letter {allowed[0]}–{allowed[-1]}"
            raise gold_error(self.name, gold, options, why + (" nor one of the options" if texts else ""))
        return letters, allowed, texts

    def judge(self, found: Extraction, expected: Any, options: dict[str, Any]) -> Verdict:
        gold, allowed, texts = expected
        letters = letters_in(found.text, allowed, texts)
        if not letters:
            return Verdict.failed(NO_ANSWER, found.text, found.rule)
        return Verdict.judged(letters == gold, ",".join(sorted(letters)), found.rule)


def _option_texts(options: dict[str, Any]) -> tuple[str, ...]:
    texts = options.get("options")
    if texts is None:
        return ()
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise UserError(f"option 'options' must be a list of option texts, not {type(texts).__name__}")
    if len(texts) > MAX_OPTIONS:
        raise UserError(f"the choice verifier supports at most {MAX_OPTIONS} options (A–J), got {len(texts)}")
    return tuple(str(text) for text in texts)


def _n_options(options: dict[str, Any], texts: tuple[str, ...]) -> int:
    n = options.get("n_options")
    if n is None:
        return len(texts) or MAX_OPTIONS
    if not isinstance(n, int) or not 1 <= n <= MAX_OPTIONS:
        raise UserError(f"option n_options must be an integer from 1 to {MAX_OPTIONS}, not {n!r}")
    return n


CHOICE = ChoiceVerifier()
