"""The plugin host: entry-point loading, registries, duplicate and unknown names, failing plugins."""

import pytest

from npo_bench import hookimpl
from npo_bench.errors import UserError
from npo_bench.host import PluginHost


def test_builtins_are_found_through_entry_points():
    host = PluginHost()
    assert "grpo" in host.registry("source")
    assert "embedded" in host.registry("backend")
    assert "synthetic" in host.registry("benchmark")
    assert {"numeric", "exact", "math", "choice"} <= set(host.registry("verifier").names())
    names = {row["name"]: row for row in host.describe_plugins()}
    assert "source:grpo" in names["grpo"]["registers"]
    assert names["grpo"]["version"] == "0.1.0"


def test_unknown_name_gets_did_you_mean():
    host = PluginHost()
    with pytest.raises(UserError, match="unknown source 'grp'.*did you mean 'grpo'"):
        host.get("source", "grp")


class _Duplicate:
    @hookimpl
    def npo_bench_register_sources(self, register):
        register("grpo", object)


def test_duplicate_name_names_both_plugins():
    host = PluginHost()
    host.register(_Duplicate(), name="copycat")
    with pytest.raises(UserError, match="'grpo' is registered twice: by plugin 'grpo' and by plugin 'copycat'"):
        host.registry("source")


class _Raises:
    @hookimpl
    def npo_bench_register_benchmarks(self, register):
        raise RuntimeError("boom")


def test_plugin_that_raises_is_named():
    host = PluginHost(load_entry_points=False)
    host.register(_Raises(), name="broken")
    with pytest.raises(UserError, match="plugin 'broken' raised in npo_bench_register_benchmarks: RuntimeError: boom"):
        host.registry("benchmark")


class _Misspelled:
    @hookimpl
    def npo_bench_register_source(self, register):  # missing "s"
        pass


def test_misspelled_hook_fails_loudly():
    host = PluginHost(load_entry_points=False)
    with pytest.raises(Exception, match="npo_bench_register_source"):
        host.register(_Misspelled(), name="typo")


def test_observer_failures_are_reported_not_raised():
    calls = []

    class Observer:
        @hookimpl
        def npo_bench_on_step_end(self, event):
            calls.append(event)

    class Broken:
        @hookimpl
        def npo_bench_on_step_end(self, event):
            raise ValueError("bad observer")

    host = PluginHost(load_entry_points=False)
    host.register(Observer(), name="observer")
    host.register(Broken(), name="broken")
    warnings = host.hooks.on_step_end("event")
    assert calls == ["event"]
    assert warnings == ["plugin 'broken' raised in npo_bench_on_step_end: ValueError: bad observer"]


def test_load_and_disable_env_vars(monkeypatch):
    monkeypatch.setenv("NPO_BENCH_DISABLE_PLUGINS", "grpo")
    assert "grpo" not in PluginHost().registry("source")
    monkeypatch.delenv("NPO_BENCH_DISABLE_PLUGINS")
    monkeypatch.setenv("NPO_BENCH_LOAD_PLUGINS", "grpo")
    host = PluginHost()
    assert host.registry("source").names() == ["grpo"]
    assert host.registry("backend").names() == []


def test_lazy_string_registration_names_the_plugin_when_broken():
    class Lazy:
        @hookimpl
        def npo_bench_register_backends(self, register):
            register("ghost", "npo_bench.no_such_module:Backend")

    host = PluginHost(load_entry_points=False)
    host.register(Lazy(), name="lazy")
    with pytest.raises(UserError, match="backend 'ghost' from plugin 'lazy' cannot be loaded"):
        host.get("backend", "ghost").load()
