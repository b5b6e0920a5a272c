"""The judge's HTTP client: one OpenAI-compatible ``/chat/completions`` call with the standard library only.

Connection errors and HTTP 5xx are retried with exponential backoff; a 4xx, a reply that is not JSON or has no
``choices[0].message.content``, or a server still unreachable after the retries is one :class:`UserError` naming the
endpoint and the item.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from npo_bench.errors import UserError
from npo_bench.judge.prompts import Message, completion_text, request_body

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
