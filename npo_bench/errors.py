"""One exception type for user errors.

`UserError` carries a message that names the file, row, field or plugin at fault, plus an optional hint.
The CLI prints it as one line without a traceback (`--debug` shows the traceback).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """Bad input from the user (config, files, names, run directories): never a bug in npo-bench."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def one_line(self) -> str:
        """``str(self)`` on one line: line breaks that came in with user input are shown as ``\\n``."""
        return str(self).replace("\r", "\\r").replace("\n", "\\n")


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A hint listing the closest known names to `name`, then all of them."""
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    known = ", ".join(choices) if choices else "none"
    if close:
        return f"did you mean {' or '.join(repr(c) for c in close)}? known: {known}"
    return f"known: {known}"
