"""Every hook is called through the plugin manager: traced under NPO_BENCH_TRACE_PLUGINS, with opt-in arguments,
one plugin at a time in registration order, a failing plugin named."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from npo_bench import hookimpl, hookspecs
from npo_bench.errors import UserError
from npo_bench.host import PluginHost
from npo_bench.trainer.step import step_phase
from npo_bench.types import RunEnd, RunStart, StepEnd

HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("npo_bench_"))


class Recorder:
    """Implements all eight hooks; the observers take no argument at all (pluggy's opt-in arguments)."""

    def __init__(self, calls: list[str]):
        self.calls = calls

    @hookimpl
    def npo_bench_register_sources(self, register):
        self.calls.append("npo_bench_register_sources")
        register("recorded", object)

    @hookimpl
    def npo_bench_register_verifiers(self):
        self.calls.append("npo_bench_register_verifiers")

    @hookimpl
    def npo_bench_register_benchmarks(self):
        self.calls.append("npo_bench_register_benchmarks")

    @hookimpl
    def npo_bench_register_backends(self):
        self.calls.append("npo_bench_register_backends")

    @hookimpl
    def npo_bench_register_commands(self, subparsers):
        self.calls.append("npo_bench_register_commands")
        subparsers.add_parser("recorded")

    @hookimpl
    def npo_bench_on_run_start(self):
        self.calls.append("npo_bench_on_run_start")

    @hookimpl
    def npo_bench_on_step_end(self, event):
        self.calls.append(f"npo_bench_on_step_end:{event.phase}")

    @hookimpl
    def npo_bench_on_run_end(self):
        self.calls.append("npo_bench_on_run_end")


def _call_every_hook(host: PluginHost) -> None:
    host.hooks.register_commands(argparse.ArgumentParser().add_subparsers())
    host.registry("source")  # all four registration hooks, once
    run_dir = Path("runs/x")
    host.hooks.on_run_start(RunStart(run_dir, {}, 0, False))
    host.hooks.on_step_end(StepEnd(run_dir, 1, {"reward/mean": 0.5}, "scout"))
    host.hooks.on_step_end(StepEnd(run_dir, 1, {"reward/mean": 0.5}, "train"))
    host.hooks.on_run_end(RunEnd(run_dir, {}))


def test_every_hook_is_traced_under_npo_bench_trace_plugins(monkeypatch, capsys):
    assert len(HOOKS) == 8
    monkeypatch.setenv("NPO_BENCH_TRACE_PLUGINS", "1")
    calls: list[str] = []
    host = PluginHost(load_entry_points=False)
    host.register(Recorder(calls), name="recorder")
    _call_every_hook(host)
    trace = capsys.readouterr().err
    for hook in HOOKS:
        assert f"{hook} [hook]" in trace, hook  # pluggy's tracer: one line per call …
        assert f"finish {hook} -->" in trace, hook  # … and one per return
    assert calls == [
        "npo_bench_register_commands",
        "npo_bench_register_sources",
        "npo_bench_register_verifiers",
        "npo_bench_register_benchmarks",
        "npo_bench_register_backends",
        "npo_bench_on_run_start",
        "npo_bench_on_step_end:scout",
        "npo_bench_on_step_end:train",
        "npo_bench_on_run_end",
    ]
    assert host.registry("source").names() == ["recorded"]


def test_no_trace_without_the_variable(monkeypatch, capsys):
    monkeypatch.delenv("NPO_BENCH_TRACE_PLUGINS", raising=False)
    host = PluginHost(load_entry_points=False)
    host.register(Recorder([]), name="recorder")
    _call_every_hook(host)
    assert "[hook]" not in capsys.readouterr().err


def test_plugins_are_called_one_at_a_time_in_registration_order_and_a_failure_is_named():
    calls: list[str] = []

    class Named:
        def __init__(self, name: str, fail: bool = False):
            self.name, self.fail = name, fail

        @hookimpl
        def npo_bench_on_run_end(self, event):
            calls.append(self.name)
            if self.fail:
                raise RuntimeError("observer broke")

        @hookimpl
        def npo_bench_register_commands(self, subparsers):
            if self.fail:
                raise RuntimeError("command broke")

    host = PluginHost(load_entry_points=False)
    for name, fail in (("first", False), ("second", True), ("third", False)):
        host.register(Named(name, fail), name=name)
    warnings = host.hooks.on_run_end(RunEnd(Path("runs/x"), {}))
    assert calls == ["first", "second", "third"]  # the broken observer does not stop the others
    assert warnings == ["plugin 'second' raised in npo_bench_on_run_end: RuntimeError: observer broke"]
    with pytest.raises(UserError, match="plugin 'second' raised in npo_bench_register_commands: RuntimeError"):
        host.hooks.register_commands(argparse.ArgumentParser().add_subparsers())


@pytest.mark.parametrize(
    "guided, step, trained_through, phase",
    [
        (False, 3, 0, "scout"),  # a scout ahead of the anchor
        (False, 3, 5, "scout"),
        (True, 1, 0, "train"),  # NPO early: the guided steps after the scout are the run's first
        (True, 6, 5, "train"),
        (True, 4, 5, "replay"),  # AutoNPO: steps 4 and 5 again after a rollback from 5
        (True, 5, 5, "replay"),
    ],
)
def test_step_phase(guided, step, trained_through, phase):
    assert step_phase(guided, step, trained_through) == phase
