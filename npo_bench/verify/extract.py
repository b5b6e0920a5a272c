"""Answer extraction shared by every verifier (benchmarks.md §4.4 steps 1–2).

1. Strip reasoning: everything up to the last ``</think>`` (or ``</thought>``) is dropped; an unclosed ``<think>``
   means the reasoning never ended, so only an explicit ``<answer>`` after it counts.
2. Try the rules in order (``extract_order`` option; default :data:`DEFAULT_ORDER`) and keep the first that fires:

   - ``answer_tag``    the last ``<answer>…</answer>`` (an unclosed last ``<answer>`` runs to the end);
   - ``boxed``         the last ``\\boxed{…}`` / ``\\fbox{…}`` with balanced nested braces;
   - ``answer_colon``  the last "Answer: X" / "Final answer: X" / "**Answer:** X" (to the end of the sentence);
   - ``answer_is``     the last "the answer is X" (also "would be", "should be");
   - ``last_line``     the last line that contains a letter or digit.

   A rule may also be a callable ``text -> str | None`` (benchmark-specific rules such as ZeroBench's ``{…}``).
3. The answer is unwrapped: ``$…$``, ``\\(…\\)``, ``**…**``, a whole ``\\boxed{…}`` or ``\\text{…}``, a final period.

Everything here is ``str.rfind``/``str.find`` plus regexes without nested quantifiers, so it is linear in the
(size-capped) response: no catastrophic backtracking.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from npo_bench.errors import UserError, did_you_mean

Rule = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Extraction:
    """The extracted answer text and the name of the rule that produced it."""

    text: str
    rule: str


# ---- reasoning -------------------------------------------------------------------------------------------------
def strip_reasoning(text: str) -> str:
    """``text`` without its ``<think>…</think>`` / ``<thought>…</thought>`` reasoning."""
    for tag in ("think", "thought"):
        if "<" not in text:
            break
        close = f"</{tag}>"
        end = text.rfind(close)
        if end >= 0:
            text = text[end + len(close) :]
            continue
        start = text.find(f"<{tag}>")
        if start >= 0:  # unclosed reasoning: only an explicit <answer> after it is an answer
            answer = text.find("<answer>", start)
            text = text[:start] + (text[answer:] if answer >= 0 else "")
    return text


# ---- rules -----------------------------------------------------------------------------------------------------
def answer_tag(text: str) -> str | None:
    """The content of the last ``<answer>…</answer>``."""
    end = text.rfind("</answer>")
    if end >= 0:
        start = text.rfind("<answer>", 0, end)
        return text[start + 8 : end] if start >= 0 else None
    start = text.rfind("<answer>")
    return text[start + 8 :] if start >= 0 else None


_BOX_COMMANDS = ("\\boxed", "\\fbox")
_MAX_BOX_TRIES = 3
_BARE_BOX_ARGUMENT = re.compile(r"[^\s$]+")


def boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{…}`` whose braces balance (nested braces allowed)."""
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    end = len(text)
    for _ in range(_MAX_BOX_TRIES):
        start = max(text.rfind(cmd, 0, end) for cmd in _BOX_COMMANDS)
        if start < 0:
            return None
        content = _box_content(text, start)
        if content is not None:
            return content
        end = start
    return None


def _box_content(text: str, start: int) -> str | None:
    i = start + (6 if text.startswith("\\boxed", start) else 5)
    n = len(text)
    while i < n and text[i] == " ":
        i += 1
    if i >= n:
        return None
    if text[i] != "{":  # "\boxed 5"
        match = _BARE_BOX_ARGUMENT.match(text, i)
        return match.group(0) if match and text[i - 1] == " " else None
    depth = 0
    for j in range(i, n):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None  # unbalanced (truncated response)


_ANSWER_COLON = re.compile(r"\banswer\b[ \t*_]*[:：]([^\n]*)", re.IGNORECASE)
_ANSWER_IS = re.compile(r"\banswer[ \t]+(?:is|would be|should be|will be)\b[ \t:*_]*([^\n]*)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?。](?=\s|$)")


def _last_capture(pattern: re.Pattern[str], text: str) -> str | None:
    last = None
    for last in pattern.finditer(text):  # noqa: B007 - we want the last match
        pass
    if last is None:
        return None
    captured = last.group(1)
    if not captured.strip():  # "The answer is:\n\n42"
        following = text[last.end() :].lstrip()
        captured = following.split("\n", 1)[0] if following else ""
    end = _SENTENCE_END.search(captured)
    return captured[: end.start()] if end else captured


def answer_colon(text: str) -> str | None:
    """The last "Answer: X" (to the end of its sentence); "Final Answer: The final answer is X" gives X."""
    if ":" not in text and "：" not in text:
        return None
    captured = _last_capture(_ANSWER_COLON, text)
    if captured is not None and _ANSWER_IS.search(captured):
        return _last_capture(_ANSWER_IS, captured)
    return captured


def answer_is(text: str) -> str | None:
    """The last "the answer is X" (to the end of its sentence)."""
    return _last_capture(_ANSWER_IS, text)


def last_line(text: str) -> str | None:
    """The last line containing a letter or digit."""
    end = len(text)
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end]
        if any(ch.isalnum() for ch in line):
            return line
        end = start - 1
    return None


RULES: dict[str, Rule] = {
    "answer_tag": answer_tag,
    "boxed": boxed,
    "answer_colon": answer_colon,
    "answer_is": answer_is,
    "last_line": last_line,
}
DEFAULT_ORDER: tuple[str, ...] = tuple(RULES)


def resolve_order(order: Sequence[str | Rule] | str | None) -> tuple[tuple[str, Rule], ...]:
    """Validate an ``extract_order`` option into ``(name, rule)`` pairs (unknown names: did-you-mean error)."""
    if order is None:
        return _DEFAULT_RULES
    if isinstance(order, str):
        order = [part.strip() for part in order.split(",") if part.strip()]
    resolved = []
    for rule in order:
        if callable(rule):
            resolved.append((getattr(rule, "__name__", "custom"), rule))
        elif rule in RULES:
            resolved.append((rule, RULES[rule]))
        else:
            raise UserError(f"unknown extraction rule {rule!r} in extract_order", hint=did_you_mean(str(rule), RULES))
    return tuple(resolved)


_DEFAULT_RULES = tuple(RULES.items())


# ---- unwrapping ------------------------------------------------------------------------------------------------
_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**"), ("__", "__"), ("`", "`"))
_WHOLE_COMMAND = re.compile(r"\\(?:boxed|fbox|text|textbf|mathrm|mbox)\s*\{")


def unwrap(answer: str) -> str:
    """Strip what surrounds an answer: math delimiters, markdown emphasis, a whole ``\\boxed{}``, a final period."""
    for _ in range(4):
        before = answer
        answer = answer.strip().rstrip(".").strip().strip("*_").strip()
        for left, right in _WRAPPERS:
            if len(answer) >= len(left) + len(right) and answer.startswith(left) and answer.endswith(right):
                answer = answer[len(left) : len(answer) - len(right)].strip()
        match = _WHOLE_COMMAND.match(answer)
        if match and answer.endswith("}") and _closes_at_end(answer, match.end() - 1):
            answer = answer[match.end() : -1]
        if answer == before:
            break
    return answer.strip()


def _closes_at_end(text: str, open_index: int) -> bool:
    depth = 0
    for j in range(open_index, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j == len(text) - 1
    return False


def extract(text: str, order: Sequence[str | Rule] | str | None = None) -> Extraction | None:
    """The first answer the rules find in ``text`` (reasoning stripped, answer unwrapped), or ``None``."""
    text = strip_reasoning(text)
    for name, rule in resolve_order(order) if order is not None else _DEFAULT_RULES:
        found = rule(text)
        if found is not None:
            found = unwrap(found)
            if found:
                return Extraction(found, name)
    return None
