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

Layout: pure prompt builders and output parsers; the HTTP call; the cache; the per-benchmark session and protocols.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npo_bench.errors import UserError
from npo_bench.types import Prompt
from npo_bench.verify.verdict import NO_ANSWER, Verdict

Message = dict[str, str]
RuleScore = Callable[[str], Verdict]  # one item's deterministic scoring of a response text
LETTERS = "ABCDEFGHIJ"
NONE_OF_THEM = "Z"  # VLMEvalKit's answer for "no option matches"
SETUP_HINT = (
    "check --judge-url and --judge-model; a local judge: `vllm serve Qwen/Qwen2.5-7B-Instruct`, "
    "then --judge-url http://localhost:8000/v1 --judge-model Qwen/Qwen2.5-7B-Instruct"
)


@dataclass(frozen=True)
class JudgeConfig:
    """Where the judge lives and how to call it. ``url`` is the API base (``http://localhost:8000/v1``)."""

    url: str
    model: str
    key_env: str = "OPENAI_API_KEY"  # the NAME of the variable holding the key; unset → no key (local servers)
    cache_path: str | None = None
    timeout_s: float = 60.0
    retries: int = 2  # extra attempts after a connection error or an HTTP 5xx
    backoff_s: float = 1.0  # wait before retry k: backoff_s · 2^k
    max_tokens: int = 256

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/chat/completions"


@dataclass(frozen=True)
class JudgedVerdict(Verdict):
    """A verdict from a judged benchmark; ``judge_output`` holds the LLM's raw output per stage (None: not asked)."""

    judge_output: dict[str, str] | None = None


# ---- prompts (pure) --------------------------------------------------------------------------------------------
EXTRACTION_INSTRUCTION = (
    "Read a model's response to a question and copy out the model's final answer only: a number, an option letter "
    "or option text, a list, an expression or a short phrase, exactly as the model gave it. Do not solve the "
    "question yourself and do not correct the model. If the response gives no final answer, write nothing after "
    "'Extracted answer:'."
)
# (question, response, extracted answer): written for npo-bench, in the spirit of MathVista's 5-shot demos
EXTRACTION_DEMOS: tuple[tuple[str, str, str], ...] = (
    (
        "How many red blocks are in the tower?",
        "I count the red layers from the bottom: one, two, then a blue one, then three more red. So 5 red blocks.",
        "5",
    ),
    (
        "What fraction of the circle is shaded? Answer with two decimal places.",
        "Three of the eight equal sectors are shaded, so the fraction is 3/8, which is 0.375, about 0.38.",
        "0.38",
    ),
    (
        "Which shape is a rhombus?\nChoices:\n(A) the first\n(B) the second\n(C) the third",
        "The first has unequal sides. The second has four equal sides but no right angles. The answer is (B).",
        "B",
    ),
    (
        "In which years did sales exceed 100 units? Answer with a Python list.",
        "Sales pass 100 only in the two bars labelled 2019 and 2021, so the answer is [2019, 2021].",
        "[2019, 2021]",
    ),
    (
        "Find the equation of the line through the two marked points.",
        "The slope is (7-3)/(2-0) = 2 and the intercept is 3, therefore the line is y = 2x + 3.",
        "y = 2x + 3",
    ),
)

JUDGEMENT_INSTRUCTION = (
    "Decide whether a model's answer means the same as the standard answer of a math question. Equivalent forms "
    "count as the same (1/2 and 0.5; y=2x+1 and 2x-y+1=0; an option letter and that option's text). Reply with one "
    "digit: 1 if they are equivalent, 0 if they are not."
)
# (question, standard answer, model answer, judgement)
JUDGEMENT_DEMOS: tuple[tuple[str, str, str, str], ...] = (
    ("What is the length of side AB?", "3\\sqrt{2}", "\\sqrt{18}", "1"),
    ("Find the range of the function.", "[0, 4)", "0 <= y <= 4", "0"),
    ("Which option is correct?\nA: 30°\nB: 45°\nC: 60°", "B", "45°", "1"),
)

CHOICE_INSTRUCTION = (
    "Match a model's answer to the options of a multiple-choice question. Reply with the single capital letter of "
    "the option the answer chose or means ({letters}); reply {none} if the answer matches none of them or chooses "
    "nothing."
)


def extraction_messages(question: str, response: str) -> list[Message]:
    """Few-shot answer extraction (MathVista's protocol; MathVerse's stage 1): demos, then the item."""
    demos = "\n\n".join(_extraction_block(q, r, a) for q, r, a in EXTRACTION_DEMOS)
    content = f"{EXTRACTION_INSTRUCTION}\n\n{demos}\n\n{_extraction_block(question, response, '')}"
    return [{"role": "user", "content": content.rstrip()}]


def _extraction_block(question: str, response: str, extracted: str) -> str:
    return f"Question: {question}\n\nModel response: {response}\n\nExtracted answer: {extracted}"


def judgement_messages(question: str, gold: str, extracted: str) -> list[Message]:
    """MathVerse's stage 2: a 0/1 equivalence judgement with ``question_for_eval`` as context."""
    demos = "\n\n".join(_judgement_block(q, g, a, j) for q, g, a, j in JUDGEMENT_DEMOS)
    content = f"{JUDGEMENT_INSTRUCTION}\n\n{demos}\n\n{_judgement_block(question, gold, extracted, '')}"
    return [{"role": "user", "content": content.rstrip()}]


def _judgement_block(question: str, gold: str, extracted: str, judgement: str) -> str:
    return f"Question: {question}\nStandard answer: {gold}\nModel answer: {extracted}\nJudgement: {judgement}"


def choice_messages(question: str, letters: str, response: str) -> list[Message]:
    """VLMEvalKit's MC fallback: which option (``letters``) does the response choose, or ``Z`` for none."""
    instruction = CHOICE_INSTRUCTION.format(letters=", ".join(letters), none=NONE_OF_THEM)
    content = f"{instruction}\n\nQuestion and options:\n{question}\n\nModel answer: {response}\n\nLetter:"
    return [{"role": "user", "content": content}]


def request_body(model: str, messages: list[Message], max_tokens: int) -> dict[str, Any]:
    """The ``/chat/completions`` body: greedy (temperature 0), bounded output."""
    return {"model": model, "messages": messages, "temperature": 0, "max_tokens": max_tokens}


# ---- outputs (pure) --------------------------------------------------------------------------------------------
_EXTRACTED_LABEL = re.compile(r"^\s*(?:extracted\s+)?answer\s*:\s*", re.IGNORECASE)
_DIGIT = re.compile(r"(?<![\d.])([01])(?![\d.])")
_LABELLED_DIGIT = re.compile(r"judge?ment\s*:\s*\**\s*([01])(?![\d.])", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")


def parse_extraction(output: str) -> str:
    """The extracted answer: the first line after an ``Extracted answer:`` label, without quotes."""
    lines = [line for line in _EXTRACTED_LABEL.sub("", output.strip()).splitlines() if line.strip()]
    return lines[0].strip().strip("\"'`").strip() if lines else ""


def parse_judgement(output: str) -> bool | None:
    """``1`` → True, ``0`` → False: the digit after the last ``Judgement:``, else the last standalone 0/1; else None."""
    found = _LABELLED_DIGIT.findall(output) or _DIGIT.findall(output)
    return found[-1] == "1" if found else None


def parse_choice(output: str, letters: str) -> str | None:
    """The first standalone capital letter of ``letters`` in the output; ``Z`` or no letter → None."""
    for match in re.finditer(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])", output):
        letter = match.group(1)
        if letter == NONE_OF_THEM:
            return None
        if letter in letters:
            return letter
    return None


def completion_text(payload: Any) -> str | None:
    """``choices[0].message.content`` of an OpenAI chat completion, or None when the JSON has no such field."""
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def quick_answer(response: str, options: Sequence[str]) -> str | None:
    """MathVista's direct acceptance: the whole response already is one of the choices, or (free-form) a number."""
    text = response.strip()
    if text in options or (not options and _NUMBER.fullmatch(text)):
        return text
    return None


def exactly_equal(extracted: str, gold: str) -> bool:
    """MathVerse's short-circuit: equal after dropping whitespace, ``$`` and a final period (case kept)."""

    def bare(text: str) -> str:
        return "".join(text.replace("$", "").split()).rstrip(".")

    return bare(extracted) == bare(gold) != ""


def allowed_letters(meta: dict[str, Any]) -> str:
    """The option letters of an MC item from its verifier options (``options`` list, else ``n_options``, else A–D)."""
    options = dict(meta.get("verify_options", {}))
    count = len(options.get("options") or ()) or int(options.get("n_options") or 4)
    return LETTERS[:count]


def response_key(benchmark: str, item_id: str, response: str) -> tuple[str, str, str]:
    """The cache key of one judgement: (benchmark, item id, sha256 of the response)."""
    return benchmark, item_id, hashlib.sha256(response.encode("utf-8")).hexdigest()


# ---- HTTP ------------------------------------------------------------------------------------------------------
_RETRYABLE = (OSError, http.client.HTTPException)  # OSError: URLError, refused/reset connections, timeouts


def judge_error(config: JudgeConfig, item_id: str, why: str) -> UserError:
    return UserError(f"LLM judge {config.endpoint}: {why} (item {item_id})", hint=SETUP_HINT)


def post_chat(config: JudgeConfig, messages: list[Message], item_id: str, api_key: str | None) -> str:
    """POST one chat completion and return its text; retries connection errors and 5xx, else one clear UserError."""
    data = json.dumps(request_body(config.model, messages, config.max_tokens)).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    failure = "no attempt"
    for attempt in range(config.retries + 1):
        if attempt:
            time.sleep(config.backoff_s * 2 ** (attempt - 1))
        request = urllib.request.Request(config.endpoint, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=config.timeout_s) as reply:
                return _reply_text(config, item_id, reply.read())
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                raise judge_error(config, item_id, f"HTTP {exc.code}: {_excerpt(exc.read())}") from None
            failure = f"HTTP {exc.code}: {_excerpt(exc.read())}"
        except _RETRYABLE as exc:
            failure = f"unreachable ({getattr(exc, 'reason', None) or exc})"
    raise judge_error(config, item_id, f"{failure}, after {config.retries + 1} attempt(s)")


def _reply_text(config: JudgeConfig, item_id: str, raw: bytes) -> str:
    try:
        payload = json.loads(raw)
    except ValueError:
        raise judge_error(config, item_id, f"the reply is not JSON: {_excerpt(raw)}") from None
    text = completion_text(payload)
    if text is None:
        raise judge_error(config, item_id, f"the reply has no choices[0].message.content: {_excerpt(raw)}")
    return text


def _excerpt(raw: bytes, limit: int = 200) -> str:
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


# ---- cache -----------------------------------------------------------------------------------------------------
class JudgeCache:
    """LLM outputs by (benchmark, item id, response sha256) and stage; with a ``path``, also a jsonl file.

    Each line is ``{"benchmark", "item", "response_sha256", "stage", "model", "output"}``; lines written for another
    judge model are ignored, so one file can serve several judges.
    """

    def __init__(self, path: str | Path | None, model: str):
        self.path = Path(path) if path else None
        self.model = model
        self.entries: dict[tuple[str, str, str, str], str] = {}
        if self.path is not None and self.path.is_file():
            self._read()

    def get(self, key: tuple[str, str, str], stage: str) -> str | None:
        return self.entries.get((*key, stage))

    def put(self, key: tuple[str, str, str], stage: str, output: str) -> None:
        self.entries[(*key, stage)] = output
        if self.path is None:
            return
        benchmark, item, digest = key
        line = {"benchmark": benchmark, "item": item, "response_sha256": digest, "stage": stage}
        line.update(model=self.model, output=output)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")

    def _read(self) -> None:
        assert self.path is not None
        fields = ("benchmark", "item", "response_sha256", "stage", "model", "output")
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                values = [record[name] for name in fields]
            except (ValueError, KeyError, TypeError):
                raise UserError(
                    f"--judge-cache {self.path} line {number}: not a judge-cache record (fields: {', '.join(fields)})",
                    hint="delete the file or the line to rebuild it",
                ) from None
            if values[4] == self.model:
                self.entries[tuple(values[:4])] = values[5]  # type: ignore[index]


# ---- judge, per-benchmark session, protocols -------------------------------------------------------------------
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

    def unused(self) -> dict[str, Any]:
        """The results-JSON record for a benchmark whose official scorer needs no LLM: the flag had no effect."""
        return {"url": self.config.url, "model": self.config.model, "protocol": None, "calls": 0, "cached": 0}


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
        config = self.judge.config
        return {
            "url": config.url,
            "model": config.model,
            "protocol": self.protocol,
            "calls": self.calls,
            "cached": self.cached,
        }


def as_judged(verdict: Verdict, rule: str | None = None, output: dict[str, str] | None = None) -> JudgedVerdict:
    """``verdict`` as a :class:`JudgedVerdict`, its rule replaced when the judge decided."""
    fields = {"correct": verdict.correct, "score": verdict.score, "extracted": verdict.extracted}
    return JudgedVerdict(**fields, reason=verdict.reason, rule=rule or verdict.rule, judge_output=output)


def _answer(text: str) -> str:
    """An extracted answer in the form every verifier reads first (the ``answer_tag`` rule)."""
    return f"<answer>{text}</answer>"


def extract_then_verify(session: JudgeSession, prompt: Prompt, response: str, rule_score: RuleScore) -> JudgedVerdict:
    """MathVista: LLM extraction (skipped on direct acceptance or an empty response), then the item's verifier."""
    options = dict(prompt.meta.get("verify_options", {})).get("options") or ()
    if not response.strip() or quick_answer(response, options) is not None:
        return as_judged(rule_score(response))
    output = session.ask("extract", prompt.id, response, extraction_messages(prompt.question, response))
    extracted = parse_extraction(output)
    if not extracted:
        return as_judged(Verdict.failed(NO_ANSWER), "judge", {"extract": output})
    return as_judged(rule_score(_answer(extracted)), "judge", {"extract": output})


def extract_then_judge(session: JudgeSession, prompt: Prompt, response: str, rule_score: RuleScore) -> JudgedVerdict:
    """MathVerse: LLM extraction; exact equality with the gold → correct without a judgement; else a 0/1 judgement."""
    if not response.strip():
        return as_judged(rule_score(response))
    extraction = session.ask("extract", prompt.id, response, extraction_messages(prompt.question, response))
    extracted = parse_extraction(extraction)
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
