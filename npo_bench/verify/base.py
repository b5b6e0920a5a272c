"""The verifier base class: option checking, input sanitising, extraction, then the subclass's judgement.

A verifier is any callable ``(response, gold, **options) -> Verdict`` registered through the
``npo_bench_register_verifiers`` hook; subclassing :class:`Verifier` adds the shared behaviour documented in
docs/verifiers.md. Attributes the API reads from any registered object: ``heavy`` (``verify_many`` runs heavy
verifiers in parallel threads; default ``False``) and ``accepts`` (option names, for ``verifier="auto"``).
"""

from __future__ import annotations

from typing import Any

from npo_bench.errors import UserError, did_you_mean
from npo_bench.verify.extract import Extraction, extract
from npo_bench.verify.safety import DEFAULT_TIMEOUT, MAX_RESPONSE_CHARS, sanitize
from npo_bench.verify.verdict import NO_ANSWER, Verdict

COMMON_OPTIONS = frozenset({"item_id", "max_chars", "extract_order", "timeout"})


class Verifier:
    """Base for the built-in verifiers. Subclasses set ``name``/``accepts`` and implement ``parse_gold``/``judge``.

    Common options (every verifier): ``item_id`` (named in gold errors), ``max_chars`` (response size cap, tail
    kept; default 50 000), ``extract_order`` (extraction rules, see :mod:`npo_bench.verify.extract`), ``timeout``
    (seconds; enforced where work can run long, i.e. the math verifier).
    """

    name = "verifier"
    heavy = False
    accepts: frozenset[str] = frozenset()

    @property
    def allowed_options(self) -> frozenset[str]:
        return COMMON_OPTIONS | self.accepts

    def __call__(self, response: object, gold: Any, **options: Any) -> Verdict:
        if options:
            self.check_options(options)
        text = sanitize(response, options.get("max_chars", MAX_RESPONSE_CHARS))
        expected = self.parse_gold(gold, options)
        found = extract(text, options.get("extract_order"))
        if found is None:
            return Verdict.failed(NO_ANSWER)
        return self.judge(found, expected, options)

    def check_options(self, options: dict[str, Any]) -> None:
        unknown = options.keys() - self.allowed_options
        if unknown:
            name = sorted(unknown)[0]
            raise UserError(
                f"unknown option {name!r} for the {self.name!r} verifier",
                hint=did_you_mean(name, self.allowed_options),
            )
        max_chars = options.get("max_chars", MAX_RESPONSE_CHARS)
        if not isinstance(max_chars, int) or max_chars <= 0:
            raise UserError(f"option max_chars must be a positive integer, not {max_chars!r}")
        timeout = options.get("timeout", DEFAULT_TIMEOUT)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise UserError(f"option timeout must be a positive number of seconds, not {timeout!r}")

    def parse_gold(self, gold: Any, options: dict[str, Any]) -> Any:
        """The gold in the form ``judge`` compares; raise :func:`gold_error` when it cannot be parsed."""
        if is_blank(gold):
            raise gold_error(self.name, gold, options, "it is empty")
        return gold

    def judge(self, found: Extraction, expected: Any, options: dict[str, Any]) -> Verdict:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def is_blank(gold: Any) -> bool:
    return (
        gold is None
        or (isinstance(gold, str) and not gold.strip())
        or (isinstance(gold, (list, tuple, set, frozenset)) and not gold)
    )


def gold_error(verifier: str, gold: Any, options: dict[str, Any], why: str) -> UserError:
    """A :class:`UserError` naming the item whose gold answer cannot be used."""
    item = options.get("item_id")
    where = f"item {item!r}" if item is not None else "an item (pass item_id= to name it)"
    shown = repr(gold)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return UserError(
        f"{where}: gold answer {shown} cannot be used by the {verifier!r} verifier: {why}",
        hint="fix the dataset's answer field or pick another verifier with verifier=...",
    )
