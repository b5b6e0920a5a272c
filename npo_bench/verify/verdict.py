"""The result of one verification.

``reason`` uses a small fixed vocabulary (docs/verifiers.md, "Reasons"):

- ``"matched"``          the extracted answer equals the gold;
- ``"mismatch"``         an answer was found and it differs from the gold (also: a malformed ``format``);
- ``"no answer found"``  nothing answer-like could be extracted or parsed from the response;
- ``"timeout"``          the hard per-verification time limit was hit (the worker process was killed);
- ``"too large"``        the extracted answer exceeds the size limit for its verifier;
- ``"refused: <why>"``   a pathological expression was refused before any parser saw it
  (``power tower``, ``huge exponent``, ``huge factorial``, ``nesting too deep``, ``huge number``);
- ``"error: <what>"``    an internal failure (e.g. a worker process crashed); never raised to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

MATCHED = "matched"
MISMATCH = "mismatch"
NO_ANSWER = "no answer found"
TIMEOUT = "timeout"
TOO_LARGE = "too large"
REFUSED = "refused"  # always used as "refused: <why>"
ERROR = "error"  # always used as "error: <what>"


@dataclass(frozen=True)
class Verdict:
    """One verification: ``correct`` decides pass/fail, ``score`` is the reward contribution (0.0 to 1.0).

    ``extracted`` is the answer text the verifier judged (``None`` when nothing was extracted) and ``rule`` the
    extraction rule that produced it (``"answer_tag"``, ``"boxed"``, ``"answer_colon"``, ``"answer_is"``,
    ``"last_line"``, or ``None``).
    """

    correct: bool
    score: float
    extracted: str | None
    reason: str
    rule: str | None = None

    @classmethod
    def judged(cls, correct: bool, extracted: str | None, rule: str | None) -> Verdict:
        """A verdict for an answer that was found and compared: ``matched`` or ``mismatch``."""
        return cls(correct, 1.0 if correct else 0.0, extracted, MATCHED if correct else MISMATCH, rule)

    @classmethod
    def failed(cls, reason: str, extracted: str | None = None, rule: str | None = None) -> Verdict:
        """An incorrect verdict for any reason other than a plain mismatch."""
        return cls(False, 0.0, extracted, reason, rule)
