"""Bad rows: a :class:`UserError` whose message names the file (or dataset), the row and the field."""

from __future__ import annotations

from npo_bench.errors import UserError


class BadRow(UserError):
    """One dataset row that cannot become a prompt; ``--skip-bad`` counts these instead of stopping."""


def bad_row(where: str, field: str | None, why: str) -> BadRow:
    """``BadRow("data/mathvista/testmini.jsonl row 7: field 'answer': it is missing")``."""
    named = f" field {field!r}:" if field else ""
    return BadRow(f"{where}:{named} {why}", hint="fix the row, or pass --skip-bad to count and skip bad rows")
