"""``verifier="auto"``: pick a verifier name from the gold's form (issue 3: letters → choice, a number → numeric,
otherwise math), plus two unambiguous extras: yes/no → yes_no, plain words → exact.

Rules, first match wins:

1. ``options=[...]`` given, or the gold is choice letters (``"B"``, ``"(B)"``, ``"A, C"``, ``["A", "C"]``; capitals
   only, since a lone lower-case letter may be a variable) → ``choice``;
2. a bool, or yes/no/true/false → ``yes_no``;
3. an ``int``/``float``/``Fraction``/``Decimal``, or a plain number string (``12``, ``-3.5``, ``1,234``, ``60%``) →
   ``numeric``;
4. words of letters only, at least 3 characters, not a math word (``red``, ``circle``, ``New York``) → ``exact``;
   a list of such words (aliases) → ``exact``;
5. anything else → ``math``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

_LETTERS = re.compile(r"\(?[A-J]\)?\.?(?:\s*(?:,|;|/|&|and|\s)\s*\(?[A-J]\)?\.?)*")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?\s*%?|[-+]?\.\d+\s*%?")
_WORDS = re.compile(r"[A-Za-z][A-Za-z '\-]*[A-Za-z]")
_YES_NO = {"yes", "no", "true", "false"}
_MATH_WORDS = {"inf", "infinity", "undefined", "pi", "sin", "cos", "tan", "log", "ln", "exp", "sqrt", "dne", "none"}


def pick(gold: Any, options: dict[str, Any]) -> str:
    """The name of the verifier ``"auto"`` uses for ``gold``."""
    if options.get("options") is not None:
        return "choice"
    if isinstance(gold, bool):
        return "yes_no"
    if isinstance(gold, (int, float, Fraction, Decimal)):
        return "numeric"
    if isinstance(gold, (list, tuple, set, frozenset)):
        items = [str(item).strip() for item in gold]
        if items and all(_LETTERS.fullmatch(item) for item in items):
            return "choice"
        return "exact"
    text = str(gold).strip()
    if _LETTERS.fullmatch(text):
        return "choice"
    if text.lower() in _YES_NO:
        return "yes_no"
    if _PLAIN_NUMBER.fullmatch(text):
        return "numeric"
    if len(text) >= 3 and _WORDS.fullmatch(text) and text.lower() not in _MATH_WORDS:
        return "exact"
    return "math"
