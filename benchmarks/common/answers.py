"""Reading a response's final answer the way a human grader would, for the documented deviations from the official
scorers (docs/benchmarks.md, "official rule → ours → why").

Every benchmark's scorer runs its official rule path; these helpers are the few places where npo-bench reads a
response differently because the official rule is plainly wrong on it:

- :func:`prepare`: the reasoning before the last ``</think>`` is dropped (VLMEvalKit's ``SPLIT_THINK`` does the
  same before its scorers see a prediction);
- :func:`container`: an explicit final answer, the last ``<answer>…</answer>`` or else the last ``\\boxed{…}``,
  which most official parsers were not written for (``<answer>C</answer>`` has no letter followed by a space);
- :func:`statement`: the container, else the last "Answer: X" / "the answer is X" sentence;
- :func:`hedged`: a final answer naming two option letters ("B or J", "A, C", "(B)/(D)") is wrong even when an
  official parser would pick one of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from npo_bench.verify.choice import letters_in
from npo_bench.verify.extract import Extraction, answer_colon, answer_is, answer_tag, boxed, strip_reasoning, unwrap
from npo_bench.verify.safety import MAX_RESPONSE_CHARS, sanitize

LETTERS = "ABCDEFGHIJ"
SHORT_WORDS = 12

# a final answer that is a list of option letters ("B or J", "A, C", "(B)/(D)", "either A or B"), or starts with two
# letters joined by "or" ("B or J, depending on…"); a labelled option text ("C. Reduce A and B") is not a hedge
_LETTER = r"\(?([A-P])\)?"
_JOIN = r"\s*(?:,|;|/|&|\bor\b|\band\b)\s*(?:(?:maybe|possibly|perhaps)\s+)?"
_LETTER_LIST = re.compile(r"\s*(?:either\s+)?" + _LETTER + r"(?:" + _JOIN + _LETTER + r")+\s*[.!]?\s*")
_STARTS_WITH_OR = re.compile(r"\s*(?:either\s+)?\(?([A-P])\)?\s+or\s+\(?([A-P])\)?(?![A-Za-z0-9])")


def prepare(response: object, max_chars: int = MAX_RESPONSE_CHARS) -> str:
    """The response as a safe string (size-capped, tail kept) without its ``<think>``/``<thought>`` reasoning."""
    return strip_reasoning(sanitize(response, max_chars))


def both(response: object, max_chars: int = MAX_RESPONSE_CHARS) -> tuple[str, str]:
    """(the response as the official scorer sees it — a safe string, reasoning kept —, the same without reasoning)."""
    raw = sanitize(response, max_chars)
    return raw, strip_reasoning(raw)


def container(text: str) -> Extraction | None:
    """The explicit final answer: the last ``<answer>…</answer>``, else the last balanced ``\\boxed{…}``."""
    for rule, read in (("answer_tag", answer_tag), ("boxed", boxed)):
        found = read(text)
        if found is not None:
            found = unwrap(found)
            if found:
                return Extraction(found, rule)
    return None


def statement(text: str) -> Extraction | None:
    """The sentence that states the final answer: :func:`container`, else "Answer: X", else "the answer is X", else
    the whole response when it is short (at most :data:`SHORT_WORDS` words: it is all answer)."""
    found = container(text)
    if found is not None:
        return found
    for rule, read in (("answer_colon", answer_colon), ("answer_is", answer_is)):
        captured = read(text)
        if captured is not None:
            captured = unwrap(strip_quotes(captured))
            if captured:
                return Extraction(captured, rule)
    short = text.strip()
    if short and len(short.split()) <= SHORT_WORDS:
        return Extraction(unwrap(short), "short_response")
    return None


def strip_quotes(text: str) -> str:
    """``"X"`` → ``X`` (MathVista's own answer format is ``The answer is "X".``)."""
    text = text.strip()
    for left, right in (('"', '"'), ("“", "”"), ("'", "'")):
        if len(text) >= 2 and text.startswith(left) and text.endswith(right):
            return text[1:-1].strip()
    return text


def hedged(answer: str, allowed: str = LETTERS) -> bool:
    """Whether ``answer`` (a final-answer statement) names two different option letters of ``allowed``: it is a
    list of letters ("B or J", "A, C", "(B)/(D)") or starts with "X or Y"."""
    whole = _LETTER_LIST.fullmatch(answer)
    if whole is not None:
        named = set(re.findall(r"[A-P]", re.sub(r"\b(?:either|or|and|maybe|possibly|perhaps)\b", " ", answer)))
        return len(named & set(allowed)) >= 2
    start = _STARTS_WITH_OR.match(answer)
    return start is not None and start.group(1) != start.group(2) and {start.group(1), start.group(2)} <= set(allowed)


def read_letters(answer: str, allowed: str, options: Sequence[str] = ()) -> frozenset[str]:
    """The option letters a short final answer names: letters first (``B``, ``(B)``, ``B.``, "option B"), then an
    option's exact text (letters first: MMMU-Pro's options are often themselves letters, ``E`` being option C)."""
    return letters_in(answer, allowed) or (letters_in(answer, allowed, options) if options else frozenset())


# ---- free-form golds and answers with words and units (reduced to their value) ----------------------------------
_UNIT_WORDS = (
    "square units|sq units|square centimeters|square meters|cubic units|units|unit|centimeters|centimetres|"
    "meters|metres|kilometers|millimeters|inches|inch|feet|foot|ft|yd|miles|mile|degrees|degree|deg|radians|rad|"
    "cm|mm|km|dm|m|kg|mg|g|ml|liters|litres|l|seconds|second|sec|s|minutes|min|hours|hour|hrs|h|yuan|dollars"
)
_POWER = r"(?:\s*\^\s*\{?\s*[23]\s*\}?)"
_UNIT_GROUP = re.compile(
    r"(?:\\(?:mathrm|text|mbox|rm|textrm|operatorname))?\s*\{\s*(?:" + _UNIT_WORDS + r")\s*\}" + _POWER + "?"
)
_TRAILING_UNIT = re.compile(r"(?<=[\d\s}.)])\s*(?:" + _UNIT_WORDS + r")(?:" + _POWER + r"|[²³])?\s*\.?\s*$")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree")
_RELATION = re.compile(r"=|\\approx|≈")
_NOT_A_LABEL = re.compile(r"[-+*/^()\[\],<>|=]|^\s*[-\d.]+\s*$")


def reduce_to_value(text: str) -> str:
    """A free-form answer without its wording and units: ``Area $=9 \\pi \\mathrm{cm}^{2}$`` → ``9 \\pi``,
    ``y=2x+1`` → ``2x+1``, ``60^\\circ`` → ``60``, ``5 cm`` → ``5``. The left-hand side of the last ``=`` is dropped
    only when it is a label (words or a variable name, no operator): ``x^2+y^2=1`` stays whole."""
    value = text.replace("$", "").replace("\\(", "").replace("\\)", "").strip()
    relations = list(_RELATION.finditer(value))
    if relations:
        last = relations[-1]
        label = value[: relations[0].start()]
        if len(relations) == 1 and label.strip() and not _NOT_A_LABEL.search(label):
            value = value[last.end() :]
    value = _UNIT_GROUP.sub(" ", value)
    value = _DEGREES.sub("", value)
    for _ in range(2):
        value = _TRAILING_UNIT.sub("", value.strip())
    return value.strip().rstrip(".").strip() or text.strip()
