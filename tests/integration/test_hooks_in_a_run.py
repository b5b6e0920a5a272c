"""The hooks of a whole `npo-bench run`, through the CLI: the call order documented in npo_bench/hookspecs.py, every
hook traced under NPO_BENCH_TRACE_PLUGINS, and observers told scout steps from training steps."""

from __future__ import annotations

import json

import pytest

from npo_bench import hookimpl, hookspecs
from npo_bench.cli import main
from npo_bench.host import PluginHost, set_host

pytestmark = pytest.mark.slow

HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("npo_bench_"))


class Observer:
    def __init__(self):
        self.calls: list[tuple[str, object]] = []

    @hookimpl
    def npo_bench_register_commands(self):
        self.calls.append(("commands", None))

    @hookimpl
    def npo_bench_register_sources(self):
        self.calls.append(("sources", None))

    @hookimpl
    def npo_bench_register_backends(self):
        self.calls.append(("backends", None))

    @hookimpl
    def npo_bench_on_run_start(self, event):
        self.calls.append(("start", event.start_step))

    @hookimpl
    def npo_bench_on_step_end(self, event):
        self.calls.append(("step", (event.step, event.phase)))

    @hookimpl
    def npo_bench_on_run_end(self, event):
        self.calls.append(("end", event.error))


def test_a_run_calls_every_hook_in_order_and_traces_each(micro_base, tmp_path, monkeypatch, capsys):
    schedule = tmp_path / "npo.yaml"  # scout 1-2 from the base; late: save at 3, scout 4-5, roll back to 3
    schedule.write_text(
        "source:\n  options:\n    schedule:\n"
        "      - {kind: early, at: 0, delta: 2}\n      - {kind: late, at: 3, delta: 2}\n"
    )
    monkeypatch.setenv("NPO_BENCH_TRACE_PLUGINS", "1")
    observer = Observer()
    host = PluginHost()  # the installed entry points, traced
    host.register(observer, name="observer")
    previous = set_host(host)
    try:
        argv = ["run", "--preset", "micro", "--method", "npo", "--config", str(schedule)]
        assert main([*argv, "--runs-dir", str(tmp_path / "runs"), "--name", "hooks"]) == 0
    finally:
        set_host(previous)
    trace = capsys.readouterr().err
    for hook in HOOKS:
        assert f"{hook} [hook]" in trace, hook

    names = [name for name, _ in observer.calls]
    assert names[:3] == ["commands", "sources", "backends"]  # the CLI is built, then the registries
    assert names[3] == "start" and names[-1] == "end" and set(names[4:-1]) == {"step"}
    assert observer.calls[3] == ("start", 0) and observer.calls[-1] == ("end", None)
    steps = [value for name, value in observer.calls if name == "step"]
    assert steps == [
        (1, "scout"),
        (2, "scout"),
        (1, "train"),
        (2, "train"),
        (3, "train"),
        (4, "scout"),
        (5, "scout"),
        (4, "train"),
        (5, "train"),
        (6, "train"),
    ]
    lines = [json.loads(line) for line in (tmp_path / "runs" / "hooks" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["phase"]) for r in lines if r["phase"] != "eval"] == steps  # the same story as the log
