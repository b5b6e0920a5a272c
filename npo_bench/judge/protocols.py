"""The judge itself, one benchmark's session with it, and the scoring protocols named by ``judge_protocol``.

:data:`PROTOCOLS` maps a benchmark class's ``judge_protocol`` to a function that scores one response with the item's
deterministic rules and, where the official protocol does, the LLM (through the session's cache).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from npo_bench.errors import UserError
from npo_bench.judge.cache import JudgeCache, response_key
from npo_bench.judge.client import SETUP_HINT, JudgeConfig, post_chat
from npo_bench.judge.prompts import (
    Message,
    allowed_letters,
    choice_messages,
    exactly_equal,
    extraction_messages,
    judgement_messages,
    parse_choice,
    parse_extraction,
    parse_judgement,
    quick_answer,
)
from npo_bench.types import Prompt
from npo_bench.verify.verdict import NO_ANSWER, Verdict

RuleScore = Callable[[str], Verdict]  # one item's deterministic scoring of a response text


@dataclass(frozen=True)
class JudgedVerdict(Verdict):
    """A verdict from a judged benchmark; ``judge_output`` holds the LLM's raw output per stage (None: not asked)."""

    judge_output: dict[str, str] | None = None


class Judge:
    """The configured endpoint, its API key (read once from ``key_env``) and the shared cache."""

    def __init__(self, config: JudgeConfig):
        if not config.url.startswith(("http://", "https://")):
            raise UserError(f"--judge-url {config.url!r}: expected an http:// or https:// URL", hint=SETUP_HINT)
        if not config.model:
            raise UserError("--judge-url needs --judge-model (the model name the server serves)", hint=SETUP_HINT)
        self.config = config
        self.api_key = os.environ.get(config.key_env) or None
        self.cache = JudgeCache(config.cache_path, config.model)

    def complete(self, messages: list[Message], item_id: str) -> str:
        return post_chat(self.config, messages, item_id, self.api_key)

    def check(self) -> None:
        """One tiny request, so a wrong URL or model name fails before any generation, not after."""
        self.complete([{"role": "user", "content": "Reply with 1."}], "connection-check")

    def session(self, benchmark: str, protocol: str) -> JudgeSession:
        if protocol not in PROTOCOLS:
            raise UserError(f"benchmark {benchmark!r}: unknown judge protocol {protocol!r}; known: {sorted(PROTOCOLS)}")
        return JudgeSession(self, benchmark, protocol)

    def record(self, protocol: str | None, calls: int, cached: int) -> dict[str, Any]:
        """The ``"judge"`` block of eval/<benchmark>.json."""
        config = self.config
        return {"url": config.url, "model": config.model, "protocol": protocol, "calls": calls, "cached": cached}

    def unused(self) -> dict[str, Any]:
        """The record for a benchmark whose official scorer needs no LLM: the flag had no effect."""
        return self.record(None, 0, 0)


@dataclass
class JudgeSession:
    """One benchmark's use of the judge: its protocol and how many outputs were asked (``calls``) or cached."""

    judge: Judge
    benchmark: str
    protocol: str
    calls: int = 0
    cached: int = 0

    def ask(self, stage: str, item_id: str, response: str, messages: list[Message]) -> str:
        """The LLM output for this stage of this (item, response): from the cache, else one HTTP call."""
        key = response_key(self.benchmark, item_id, response)
        found = self.judge.cache.get(key, stage)
        if found is not None:
            self.cached += 1
            return found
        output = self.judge.complete(messages, item_id)
        self.calls += 1
        self.judge.cache.put(key, stage, output)
        return output

    def score(self, prompt: Prompt, response: str, rule_score: RuleScore) -> JudgedVerdict:
        return PROTOCOLS[self.protocol](self, prompt, response, rule_score)

    def summary(self) -> dict[str, Any]:
        """The ``"judge"`` block of eval/<benchmark>.json."""
        return self.judge.record(self.protocol, self.calls, self.cached)


def as_judged(verdict: Verdict, rule: str | None = None, output: dict[str, str] | None = None) -> JudgedVerdict:
    """``verdict`` as a :class:`JudgedVerdict`, its rule replaced when the judge decided."""
    fields = {"correct": verdict.correct, "score": verdict.score, "extracted": verdict.extracted}
    return JudgedVerdict(**fields, reason=verdict.reason, rule=rule or verdict.rule, judge_output=output)


def _answer(text: str) -> str:
    """An extracted answer in the form every verifier reads first (the ``answer_tag`` rule)."""
    return f"<answer>{text}</answer>"


def _extract(session: JudgeSession, prompt: Prompt, response: str) -> tuple[str, str]:
    """(the LLM's raw output, the answer parsed from it; empty when it found none) for the extraction stage."""
    output = session.ask("extract", prompt.id, response, extraction_messages(prompt.question, response))
    return output, parse_extraction(output)


def extract_then_verify(session: JudgeSession, prompt: Prompt, response: str, rule_score: RuleScore) -> JudgedVerdict:
    """MathVista: LLM extraction (skipped on direct acceptance or an empty response), then the item's verifier."""
    options = dict(prompt.meta.get("verify_options", {})).get("options") or ()
    if not response.strip() or quick_answer(response, options) is not None:
        return as_judged(rule_score(response))
    output, extracted = _extract(session, prompt, response)
    if not extracted:
        return as_judged(Verdict.failed(NO_ANSWER), "judge", {"extract": output})
    return as_judged(rule_score(_answer(extracted)), "judge", {"extract": output})


def extract_then_judge(session: JudgeSession, prompt: Prompt, response: str, rule_score: RuleScore) -> JudgedVerdict:
    """MathVerse: LLM extraction; exact equality with the gold → correct without a judgement; else a 0/1 judgement."""
    if not response.strip():
        return as_judged(rule_score(response))
    extraction, extracted = _extract(session, prompt, response)
    if not extracted:
        return as_judged(Verdict.failed(NO_ANSWER), "judge", {"extract": extraction})
    if exactly_equal(extracted, prompt.answer):
        return as_judged(Verdict.judged(True, extracted, "judge"), "judge", {"extract": extraction})
    context = prompt.meta.get("question_for_eval") or prompt.question
    output = session.ask("judge", prompt.id, response, judgement_messages(context, prompt.answer, extracted))
    outputs = {"extract": extraction, "judge": output}
    correct = parse_judgement(output)
    if correct is None:
        return as_judged(Verdict.failed("error: the judge answered neither 0 nor 1", extracted), "judge", outputs)
    return as_judged(Verdict.judged(correct, extracted, "judge"), "judge", outputs)


def rule_then_choice_fallback(
    session: JudgeSession, prompt: Prompt, response: str, rule_score: RuleScore
) -> JudgedVerdict:
    """MMStar/MMBench/WeMath (VLMEvalKit): rule letter matching; the LLM maps the response only when no letter is
    found (an empty response is not sent)."""
    verdict = rule_score(response)
    if verdict.reason != NO_ANSWER or not response.strip():
        return as_judged(verdict)
    letters = allowed_letters(dict(prompt.meta))
    output = session.ask("choice", prompt.id, response, choice_messages(prompt.question, letters, response))
    letter = parse_choice(output, letters)
    if letter is None:
        return as_judged(Verdict.failed(NO_ANSWER), "judge_fallback", {"choice": output})
    return as_judged(rule_score(_answer(letter)), "judge_fallback", {"choice": output})


Protocol = Callable[[JudgeSession, Prompt, str, RuleScore], JudgedVerdict]
PROTOCOLS: dict[str, Protocol] = {
    "extract": extract_then_verify,
    "extract_and_judge": extract_then_judge,
    "choice_fallback": rule_then_choice_fallback,
}
