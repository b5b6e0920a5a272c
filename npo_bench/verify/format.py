"""The ``<think>…</think><answer>…</answer>`` structure, and the composite reward (benchmarks.md §4.1 step 5:
"Reward = 0.9·acc + 0.1·format").

Well-formed means: after surrounding whitespace, the response is exactly one ``<think>`` block (non-empty unless
``allow_empty_think=True``) followed by exactly one non-empty ``<answer>`` block, with only whitespace between and
nothing after. ``require_think=False`` accepts a bare ``<answer>…</answer>``. The format verifier ignores the gold.
"""

from __future__ import annotations

from typing import Any

from npo_bench.errors import UserError
from npo_bench.verify.base import Verifier
from npo_bench.verify.safety import MAX_RESPONSE_CHARS, sanitize
from npo_bench.verify.verdict import MISMATCH, Verdict

_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


def well_formed(text: str, *, require_think: bool = True, allow_empty_think: bool = False) -> bool:
    """Whether ``text`` has the think-then-answer structure described above."""
    text = text.strip()
    counts = [text.count(tag) for tag in _TAGS]
    if counts[2:] != [1, 1] or counts[0] != counts[1] or counts[0] > 1:
        return False
    if counts[0] == 0:
        if require_think:
            return False
        body = text
    else:
        if not text.startswith("<think>"):
            return False
        close = text.index("</think>")
        if not allow_empty_think and not text[7:close].strip():
            return False
        body = text[close + 8 :].lstrip()
    if not (body.startswith("<answer>") and body.endswith("</answer>")):
        return False
    return bool(body[8:-9].strip())


class FormatVerifier(Verifier):
    """Checks the <think>…</think><answer>…</answer> structure (score 1.0 or 0.0); the gold is ignored."""

    name = "format"
    accepts = frozenset({"require_think", "allow_empty_think"})

    def __call__(self, response: object, gold: Any = None, **options: Any) -> Verdict:
        if options:
            self.check_options(options)
        flags = {
            "require_think": options.get("require_think", True),
            "allow_empty_think": options.get("allow_empty_think", False),
        }
        for key, value in flags.items():
            if not isinstance(value, bool):
                raise UserError(f"option {key} must be true or false, not {value!r}")
        text = sanitize(response, options.get("max_chars", MAX_RESPONSE_CHARS))
        if well_formed(text, **flags):
            return Verdict.judged(True, None, None)
        return Verdict.failed(MISMATCH)


def composite(accuracy: float, format_score: float, format_weight: float) -> float:
    """``(1 - w)·accuracy + w·format`` — e.g. ``w = 0.1`` gives the RL papers' 0.9·acc + 0.1·format."""
    if not 0.0 <= format_weight <= 1.0:
        raise UserError(f"format_weight must be between 0 and 1, not {format_weight!r}")
    return (1.0 - format_weight) * accuracy + format_weight * format_score


FORMAT = FormatVerifier()


def training_reward(accuracy: float, response: str, format_weight: float, **format_options: Any) -> float:
    """The one training reward: ``accuracy`` itself when ``w = 0``, else :func:`composite` of it and the format
    verdict on ``response`` (the trainer's reward and :func:`npo_bench.verify.reward` both come from here)."""
    if not format_weight:
        return accuracy
    return composite(accuracy, FORMAT(response, None, **format_options).score, format_weight)
