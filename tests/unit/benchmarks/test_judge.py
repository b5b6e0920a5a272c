"""The optional LLM judge (npo_bench/judge/) against a real OpenAI-compatible HTTP server on 127.0.0.1.

The server records every request and answers from its content: extraction requests get the response's
``<answer>``/``\\boxed{}`` content (or a scripted reply), judgement requests ``0`` unless scripted, MC requests ``Z``
unless scripted. Covers the request body, each benchmark protocol (MathVista extraction, MathVerse short-circuit +
0/1 judgement, the MC fallback), the cache and its jsonl file, the errors, and the ``judge`` block of eval JSON.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from benchmark_fixtures import (
    mathverse_cases,
    mathvista_cases,
    mmbench_rows,
    mmstar_cases,
    wemath_cases,
    write_split,
)

import npo_bench.evaluate
import npo_bench.model_eval
from npo_bench import judge as judge_module
from npo_bench.benchmark import make_benchmark
from npo_bench.cli import main
from npo_bench.errors import UserError
from npo_bench.host import get_host
from npo_bench.judge import Judge, JudgeCache, JudgeConfig

MODEL = "judge-test-model"
WORDY = "There are 3 balls in the picture: 2 red and 1 blue."  # the rules read the last line: mismatch


# ---- a real local OpenAI-compatible server -----------------------------------------------------------------------
class FakeJudgeServer(ThreadingHTTPServer):
    """``POST /v1/chat/completions``; ``statuses`` (popped per request) force error replies, ``script`` overrides."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.headers_seen: list[dict] = []
        self.script: dict[str, str] = {}
        self.statuses: list[tuple[int, bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def requests_of(self, kind: str) -> list[dict]:
        return [r for r in self.requests if _kind(r["messages"][-1]["content"]) == kind]

    def reply(self, content: str) -> str:
        kind = _kind(content)
        tail = content[content.rfind("Question") :]  # the item's block comes after the demos
        for needle, answer in self.script.items():
            if needle in tail:
                return answer
        if kind == "extract":
            found = re.search(r"<answer>(.*?)</answer>|\\boxed\{([^}]*)\}", tail)
            return f"Extracted answer: {(found.group(1) or found.group(2)) if found else ''}"
        return {"judge": "Judgement: 0", "choice": "Z"}.get(kind, "1")


def _kind(content: str) -> str:
    starts = {
        "extract": judge_module.EXTRACTION_INSTRUCTION,
        "judge": judge_module.JUDGEMENT_INSTRUCTION,
        "choice": judge_module.CHOICE_INSTRUCTION.split("{")[0],
    }
    return next((kind for kind, start in starts.items() if content.startswith(start[:40])), "other")


class _Handler(BaseHTTPRequestHandler):
    server: FakeJudgeServer

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        self.server.headers_seen.append(dict(self.headers))
        if self.server.statuses:
            status, payload = self.server.statuses.pop(0)
        elif self.path != "/v1/chat/completions":
            status, payload = 404, b'{"error": "no such route"}'
        else:
            content = self.server.reply(body["messages"][-1]["content"])
            status, payload = 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})
        data = payload if isinstance(payload, bytes) else payload.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = FakeJudgeServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _judge(server, **overrides) -> Judge:
    return Judge(JudgeConfig(url=server.url, model=MODEL, backoff_s=0.0, timeout_s=5.0, **overrides))


def _bench(tmp_path, name, stem, rows, image_fields=("image",), **options):
    """A benchmark over the fixture rows (benchmark_fixtures), with its prompts by id."""
    folder = write_split(tmp_path / name, stem, rows, image_fields)
    bench = make_benchmark(name, {"data": str(folder), **options})
    return bench, {p.id: p for p in bench.load(bench.default_split, None, 0)}


@pytest.fixture
def mathvista(tmp_path):
    return _bench(tmp_path, "mathvista", "testmini", [row for row, _, _ in mathvista_cases()])


# ---- protocols ---------------------------------------------------------------------------------------------------
def test_protocols_are_chosen_by_the_benchmark_class():
    protocols = {}
    for registration in get_host().registry("benchmark"):
        protocols[registration.name] = getattr(registration.load(), "judge_protocol", None)
    assert protocols == {
        "mathvista": "extract",
        "mathverse": "extract_and_judge",
        "mmstar": "choice_fallback",
        "mmbench": "choice_fallback",
        "wemath": "choice_fallback",
        "mmmu_pro": None,
        "mathvision": None,
        "zerobench": None,
        "synthetic": None,
    }


def test_request_is_a_greedy_chat_completion_with_question_response_and_key(server, mathvista, monkeypatch):
    monkeypatch.setenv("NPO_TEST_JUDGE_KEY", "sekret")
    bench, prompts = mathvista
    bench.use_judge(_judge(server, key_env="NPO_TEST_JUDGE_KEY"))
    bench.score(prompts["mathvista/4"], WORDY)
    (body,) = server.requests
    assert body["model"] == MODEL and body["temperature"] == 0 and body["max_tokens"] > 0
    content = body["messages"][-1]["content"]
    assert "How many balls?" in content and f"Model response: {WORDY}" in content
    assert server.headers_seen[0]["Authorization"] == "Bearer sekret"


def test_no_key_no_authorization_header(server, mathvista, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    bench, prompts = mathvista
    bench.use_judge(_judge(server))
    bench.score(prompts["mathvista/4"], WORDY)
    assert "Authorization" not in server.headers_seen[0]


def test_mathvista_extraction_turns_a_rule_miss_into_the_right_verdict(server, mathvista):
    bench, prompts = mathvista
    item = prompts["mathvista/4"]  # gold 3 (integer)
    assert not bench.score(item, WORDY).correct  # rules alone: the last line, a mismatch
    server.script = {"There are 3 balls": "Extracted answer: 3"}
    bench.use_judge(_judge(server))
    verdict = bench.score(item, WORDY)
    assert verdict.correct and verdict.extracted == "3" and verdict.rule == "judge"
    assert verdict.judge_output == {"extract": "Extracted answer: 3"}
    server.script = {"second option": "35°"}  # MC: the extracted choice text maps to its letter
    assert bench.score(prompts["mathvista/1"], "It must be the second option, thirty-five degrees.").correct
    assert len(server.requests) == 2


def test_mathvista_direct_acceptance_and_empty_responses_make_no_call(server, mathvista):
    bench, prompts = mathvista
    bench.use_judge(_judge(server))
    assert bench.score(prompts["mathvista/4"], " 3 ").correct  # a plain number
    assert bench.score(prompts["mathvista/1"], "35°").correct  # exactly one of the choices
    empty = bench.score(prompts["mathvista/12"], "")
    assert not empty.correct and empty.judge_output is None
    assert server.requests == []


@pytest.fixture
def mathverse(tmp_path):
    return _bench(tmp_path, "mathverse", "testmini", [row for row, _, _ in mathverse_cases()], versions="all")


def test_mathverse_exact_equality_short_circuits_the_judgement(server, mathverse):
    bench, prompts = mathverse
    bench.use_judge(_judge(server))
    server.script = {"Through both points": "Extracted answer: y = 2x + 1"}
    verdict = bench.score(prompts["mathverse/25"], "Through both points, the line is y = 2x + 1.")  # gold y=2x+1
    assert server.requests_of("judge") == [] and len(server.requests_of("extract")) == 1
    assert verdict.correct and verdict.rule == "judge" and "judge" not in verdict.judge_output


def test_mathverse_judgement_uses_question_for_eval_and_parses_0_or_1(server, mathverse):
    bench, prompts = mathverse
    item = prompts["mathverse/45"]  # gold (-2,1]
    assert item.meta["question_for_eval"] == "find the value"
    bench.use_judge(_judge(server))
    server.script = {"x is between": "Extracted answer: -2 < x <= 1", "Model answer: -2 < x <= 1": "Judgement: 1"}
    verdict = bench.score(item, "So x is between -2 (excluded) and 1 (included).")
    (judgement,) = server.requests_of("judge")
    content = judgement["messages"][-1]["content"]
    assert "Question: find the value\nStandard answer: (-2,1]\nModel answer: -2 < x <= 1" in content
    assert verdict.correct and verdict.judge_output == {
        "extract": "Extracted answer: -2 < x <= 1",
        "judge": "Judgement: 1",
    }
    server.script = {"x is below": "Extracted answer: x < 1"}  # the judge says 0 by default
    assert not bench.score(item, "So x is below 1.").correct
    assert len(server.requests_of("judge")) == 2
    scores = bench.aggregate([item], [verdict])
    assert scores["mode/judge"] == 1.0 and "mode/rule" not in scores


def _mc_item(tmp_path, name):
    """(benchmark, one of its fixture items, that item's gold letter)."""
    if name == "mmstar":
        bench, prompts = _bench(tmp_path, name, "val", [row for row, _, _ in mmstar_cases()])
        return bench, prompts["mmstar/1"], "B"
    if name == "mmbench":
        bench, prompts = _bench(tmp_path, name, "dev_en", [row for row, _ in mmbench_rows()])
        return bench, prompts["mmbench/1/shift0"], "A"
    bench, prompts = _bench(tmp_path, name, "testmini", [row for row, _, _ in wemath_cases()], ("image_path",))
    return bench, prompts["wemath/1/1step"], "A"


@pytest.mark.parametrize("name", ["mmstar", "mmbench", "wemath"])
def test_mc_fallback_is_asked_only_when_the_rules_find_no_letter(server, tmp_path, name):
    bench, item, gold = _mc_item(tmp_path, name)
    assert item.answer == gold
    bench.use_judge(_judge(server))
    ruled = bench.score(item, f"<answer>{gold}</answer>")
    assert ruled.correct and ruled.rule == "ours:answer_tag" and ruled.judge_output is None and server.requests == []
    server.script = {"the one to pick": gold}
    verdict = bench.score(item, "It is clearly the one to pick, for sure.")
    (request,) = server.requests_of("choice")
    assert "Model answer: It is clearly the one to pick" in request["messages"][-1]["content"]
    assert verdict.correct and verdict.rule == "judge_fallback" and verdict.judge_output == {"choice": gold}
    none = bench.score(item, "no idea at all, sorry")  # the judge says Z
    assert not none.correct and none.rule == "judge_fallback" and none.reason == "no answer found"


# ---- cache -------------------------------------------------------------------------------------------------------
def test_cache_prevents_a_second_call_and_round_trips_through_jsonl(server, mathvista, tmp_path):
    bench, prompts = mathvista
    cache = tmp_path / "judge.jsonl"
    server.script = {"There are 3 balls": "Extracted answer: 3"}
    session = bench.use_judge(_judge(server, cache_path=str(cache)))
    first, second = (bench.score(prompts["mathvista/4"], WORDY) for _ in range(2))
    assert first == second and len(server.requests) == 1
    assert (session.calls, session.cached) == (1, 1)
    (line,) = [json.loads(text) for text in cache.read_text().splitlines()]
    assert line["benchmark"] == "mathvista" and line["item"] == "mathvista/4" and line["stage"] == "extract"
    assert line["output"] == "Extracted answer: 3" and len(line["response_sha256"]) == 64

    session = bench.use_judge(_judge(server, cache_path=str(cache)))  # a later run: served from the file
    assert bench.score(prompts["mathvista/4"], WORDY).correct
    assert len(server.requests) == 1 and (session.calls, session.cached) == (0, 1)
    assert bench.score(prompts["mathvista/4"], WORDY + " ").extracted == "3"  # another response: asked again
    assert len(server.requests) == 2
    other_model = JudgeCache(cache, "another-judge")
    assert other_model.entries == {}


def test_a_corrupt_cache_line_is_named(tmp_path):
    path = tmp_path / "judge.jsonl"
    path.write_text('{"benchmark": "mathvista"}\n')
    with pytest.raises(UserError, match=r"judge.jsonl line 1: not a judge-cache record"):
        JudgeCache(path, MODEL)


# ---- errors ------------------------------------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_is_one_user_error_naming_url_and_item(mathvista):
    bench, prompts = mathvista
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    bench.use_judge(Judge(JudgeConfig(url=url, model=MODEL, retries=1, backoff_s=0.0, timeout_s=2.0)))
    with pytest.raises(UserError) as caught:
        bench.score(prompts["mathvista/4"], WORDY)
    message = str(caught.value)
    assert f"{url}/chat/completions" in message and "item mathvista/4" in message
    assert "unreachable" in message and "2 attempt(s)" in message and "vllm serve" in message


def test_http_400_is_not_retried_and_names_url_item_and_reply(server, mathvista):
    bench, prompts = mathvista
    server.statuses = [(400, b'{"error": "The model does not exist."}')]
    bench.use_judge(_judge(server))
    with pytest.raises(UserError, match=r"chat/completions: HTTP 400: .*model does not exist.*item mathvista/4"):
        bench.score(prompts["mathvista/4"], WORDY)
    assert len(server.requests) == 1


def test_5xx_is_retried_and_non_json_is_a_user_error(server, mathvista):
    bench, prompts = mathvista
    server.script = {"There are 3 balls": "3"}
    server.statuses = [(503, b"busy")]
    bench.use_judge(_judge(server))
    assert bench.score(prompts["mathvista/4"], WORDY).correct and len(server.requests) == 2
    server.statuses = [(200, b"<html>proxy login</html>")]
    with pytest.raises(UserError, match=r"not JSON: '<html>proxy login</html>' \(item mathvista/5\)"):
        bench.score(prompts["mathvista/5"], WORDY)


def test_parsers():
    assert judge_module.parse_extraction('Extracted answer: "3"\nbecause…') == "3"
    assert judge_module.parse_extraction("  ") == ""
    assert judge_module.parse_extraction("Extracted answer:\n 0.38") == "0.38"
    assert judge_module.parse_judgement("Judgement: 1") is True
    assert judge_module.parse_judgement("1/2 = 0.5, so Judgement: 0 (not 1)") is False
    assert judge_module.parse_judgement("0") is False and judge_module.parse_judgement("maybe") is None
    assert judge_module.parse_choice("The answer is B.", "ABCD") == "B"
    assert judge_module.parse_choice("Z", "ABCD") is None and judge_module.parse_choice("E", "ABCD") is None
    assert judge_module.exactly_equal("y = 2x + 1", "y=2x+1") and not judge_module.exactly_equal("", "")


# ---- npo-bench eval --judge-url ----------------------------------------------------------------------------------
def test_eval_results_json_records_the_judge_block(server, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    write_split(data / "mathvista", "testmini", [row for row, _, _ in mathvista_cases()])
    write_split(data / "mathverse", "testmini", [row for row, _, _ in mathverse_cases()])
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    responses = {"mathvista/4": WORDY, "mathverse/15": "<answer>B</answer>"}
    server.script = {"There are 3 balls": "3"}

    def scripted_sample(policy, prompts, n, *args, **kwargs):
        return [[SimpleNamespace(text=responses.get(p.id, "<answer>C</answer>"))] * n for p in prompts]

    monkeypatch.setattr(npo_bench.model_eval, "load_policy_for", lambda *args: object())
    monkeypatch.setattr(npo_bench.evaluate, "sample", scripted_sample)
    out = tmp_path / "eval"
    args = ["eval", "--model", str(model), "--benchmarks", "mathvista,mathverse,synthetic", "--limit", "4"]
    args += ["--set", "eval.samples=2", "--out", str(out), "--data", f"mathvista={data / 'mathvista'}"]
    args += ["--data", f"mathverse={data / 'mathverse'}", "--judge-url", server.url, "--judge-model", MODEL]
    assert main(args) == 0, capsys.readouterr().err

    mathvista = json.loads((out / "mathvista.json").read_text())
    assert mathvista["judge"] == {"url": server.url, "model": MODEL, "protocol": "extract", "calls": 4, "cached": 4}
    item = next(i for i in mathvista["items"] if i["id"] == "mathvista/4")
    assert item["rule"] == "judge" and item["judge_output"] == {"extract": "3"} and item["correct"]
    mathverse = json.loads((out / "mathverse.json").read_text())
    assert mathverse["judge"]["protocol"] == "extract_and_judge" and mathverse["scores"]["mode/judge"] == 1.0
    synthetic = json.loads((out / "synthetic.json").read_text())
    assert synthetic["judge"] == {"url": server.url, "model": MODEL, "protocol": None, "calls": 0, "cached": 0}
    assert server.requests[0]["messages"] == [{"role": "user", "content": "Reply with 1."}]  # checked up front


def test_judge_flags_need_each_other(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    assert main(["eval", "--model", str(model), "--judge-model", MODEL]) == 2
    assert "--judge-model/--judge-cache need --judge-url" in capsys.readouterr().err
    assert main(["eval", "--model", str(model), "--judge-url", "http://127.0.0.1:1/v1"]) == 2
    assert "--judge-model is required" in capsys.readouterr().err
