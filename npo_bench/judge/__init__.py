"""An optional LLM judge for the benchmark evaluators (``npo-bench eval --judge-url URL --judge-model NAME``).

The official scorers of some benchmarks use an LLM (shared/reference/benchmarks.md §2.2, §2.7, §2.8, §4.4 step 7).
A benchmark class names its protocol in ``judge_protocol`` and :data:`PROTOCOLS` maps the name to a function:

- ``"extract"`` (MathVista, §2.2): an LLM extracts the final answer from the response with a few-shot prompt
  (demos of question + response → extracted answer); the official "direct acceptance" skips the LLM when the whole
  response already is one of the choices or a plain number. The extracted answer is then scored by the item's own
  deterministic verifier (choice text → letter, ``precision`` rounding, …).
- ``"extract_and_judge"`` (MathVerse, §2.8): LLM extraction, then exact equality with the gold answer
  short-circuits to correct; otherwise an LLM 0/1 judgement of the extracted answer against the standard answer,
  with the item's ``question_for_eval`` as context.
- ``"choice_fallback"`` (MMStar, MMBench, WeMath; VLMEvalKit's ``can_infer`` + GPT fallback, §2.6–2.7): the rule
  letter extractor first; only when it finds no letter does the LLM map the response to one option (``Z``: none).

The judge talks to any OpenAI-compatible ``/chat/completions`` endpoint (a local ``vllm serve`` works) with the
standard library only, temperature 0. Every LLM output is cached by (benchmark, item id, sha256 of the response)
and stage, in memory and, given a path, in a jsonl file (§7), so a re-run asks nothing twice.

Layout (pure logic apart from I/O):

- :mod:`.prompts`: instructions, few-shot demos, chat messages, the request body and the output parsers (pure);
- :mod:`.client`: :class:`JudgeConfig` and the HTTP call with its retries and errors;
- :mod:`.cache`: :class:`JudgeCache` (memory + jsonl) and :func:`response_key`;
- :mod:`.protocols`: :class:`Judge`, :class:`JudgeSession`, :class:`JudgedVerdict` and the protocol functions.

Every public name stays importable from this package. The judge is core machinery (``npo-bench eval --judge-url``);
benchmarks choose a protocol by name (``judge_protocol``).
"""

from npo_bench.judge.cache import JudgeCache, response_key
from npo_bench.judge.client import SETUP_HINT, JudgeConfig, judge_error, post_chat
from npo_bench.judge.prompts import (
    CHOICE_INSTRUCTION,
    EXTRACTION_DEMOS,
    EXTRACTION_INSTRUCTION,
    JUDGEMENT_DEMOS,
    JUDGEMENT_INSTRUCTION,
    LETTERS,
    NONE_OF_THEM,
    Message,
    allowed_letters,
    choice_messages,
    completion_text,
    exactly_equal,
    extraction_messages,
    judgement_messages,
    parse_choice,
    parse_extraction,
    parse_judgement,
    quick_answer,
    request_body,
)
from npo_bench.judge.protocols import (
    PROTOCOLS,
    Judge,
    JudgedVerdict,
    JudgeSession,
    Protocol,
    RuleScore,
    as_judged,
    extract_then_judge,
    extract_then_verify,
    rule_then_choice_fallback,
)

__all__ = [
    "CHOICE_INSTRUCTION",
    "EXTRACTION_DEMOS",
    "EXTRACTION_INSTRUCTION",
    "JUDGEMENT_DEMOS",
    "JUDGEMENT_INSTRUCTION",
    "Judge",
    "JudgeCache",
    "JudgeConfig",
    "JudgeSession",
    "JudgedVerdict",
    "LETTERS",
    "Message",
    "NONE_OF_THEM",
    "PROTOCOLS",
    "Protocol",
    "RuleScore",
    "SETUP_HINT",
    "allowed_letters",
    "as_judged",
    "choice_messages",
    "completion_text",
    "exactly_equal",
    "extract_then_judge",
    "extract_then_verify",
    "extraction_messages",
    "judge_error",
    "judgement_messages",
    "parse_choice",
    "parse_extraction",
    "parse_judgement",
    "post_chat",
    "quick_answer",
    "request_body",
    "response_key",
    "rule_then_choice_fallback",
]
