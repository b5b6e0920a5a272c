"""Every plugin fault names the plugin: a source module that raises on import, a source that raises in a protocol
call, a source whose state is not plain data — and mid-run the error says how to resume."""

from __future__ import annotations

import json
import sys

import pytest
import torch

from npo_bench import hookimpl
from npo_bench.cli import main
from npo_bench.errors import UserError
from npo_bench.guarded import GuardedSource, PluginFault
from npo_bench.testing import make_group, make_trajectory
from npo_bench_plugins.grpo import NoGuidance


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert not any("Traceback" in line for line in err)
    return err[-1]


class _Lazy:
    @hookimpl
    def npo_bench_register_sources(self, register):
        register("exploding", "npo_bench_test_exploding_source:Source")


def test_a_lazily_registered_source_whose_module_raises_is_named(plugin_host, tmp_path, monkeypatch, capsys):
    (tmp_path / "npo_bench_test_exploding_source.py").write_text("raise ValueError('the config server is down')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin_host.register(_Lazy(), name="lazy-plugin")
    runs = tmp_path / "runs"
    assert main(["run", "--preset", "micro", "--runs-dir", str(runs), "--source", "exploding"]) == 2
    line = _error_line(capsys)
    assert "source 'exploding' from plugin 'lazy-plugin' cannot be loaded" in line
    assert "ValueError: the config server is down" in line and "NPO_BENCH_DISABLE_PLUGINS=lazy-plugin" in line
    assert not runs.exists()
    sys.modules.pop("npo_bench_test_exploding_source", None)


class Faulty(NoGuidance):
    def guide(self, groups):
        return [1 / 0]

    def state_dict(self):
        return {"when": torch.tensor(1), "trajectory": make_trajectory("p0", True)}


def test_a_source_that_raises_is_named_with_its_plugin_and_method():
    source = GuardedSource(Faulty(), "faulty", "my-plugin")
    with pytest.raises(PluginFault) as caught:
        source.guide([make_group("p0", 1)])
    assert str(caught.value) == (
        "guidance source 'faulty' (plugin 'my-plugin') raised in guide(): ZeroDivisionError: division by zero"
    )
    assert isinstance(caught.value.__cause__, ZeroDivisionError)  # --debug shows the original traceback
    assert source.metrics() == {} and source.options == {}  # everything else passes through


def test_a_source_with_state_that_is_not_plain_data_is_named_before_a_save():
    with pytest.raises(
        PluginFault, match=r"'faulty' \(plugin 'my-plugin'\): state_dict\(\)\['trajectory'\] is a Trajectory"
    ):
        GuardedSource(Faulty(), "faulty", "my-plugin").state_dict()


class Scout(NoGuidance):
    def before_step(self, ctl):
        ctl.train(3)  # the backend runs out of memory here
        return None


class OutOfMemoryControl:
    step = 7

    def train(self, steps):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_a_backend_error_inside_a_control_call_is_not_blamed_on_the_source():
    source = GuardedSource(Scout(), "npo", "near_future")
    with pytest.raises(RuntimeError, match="^CUDA out of memory") as caught:
        source.before_step(OutOfMemoryControl())
    assert not isinstance(caught.value, PluginFault)


def test_a_source_sees_the_control_s_attributes_and_its_own_errors_stay_its_own():
    seen = []

    class Reads(NoGuidance):
        def before_step(self, ctl):
            seen.append(ctl.step)
            raise KeyError("plan")

    with pytest.raises(PluginFault, match=r"raised in before_step\(\): KeyError: 'plan'"):
        GuardedSource(Reads(), "reads", "mine").before_step(OutOfMemoryControl())
    assert seen == [7]


def test_a_source_s_own_user_error_passes_unchanged():
    with pytest.raises(UserError, match="^source 'grpo' takes no options"):
        GuardedSource(NoGuidance(), "grpo", "grpo").setup(None, {"x": 1})


class _BreaksAtStep:
    """Registers ``flaky``: a GRPO source whose guide() raises at step ``fail_at`` (a class attribute)."""

    @hookimpl
    def npo_bench_register_sources(self, register):
        register("flaky", Flaky)


class Flaky(NoGuidance):
    fail_at: int | None = 2

    def before_step(self, ctl):
        self.step = ctl.step + 1

    def guide(self, groups):
        if self.step == Flaky.fail_at:
            raise KeyError("prompt-7")
        return []


@pytest.mark.slow
def test_a_mid_run_fault_names_the_plugin_and_how_to_resume(plugin_host, micro_base, tmp_path, capsys):
    plugin_host.register(_BreaksAtStep(), name="flaky-plugin")
    runs = tmp_path / "runs"
    argv = ["run", "--preset", "micro", "--runs-dir", str(runs), "--name", "f", "--source", "flaky"]
    assert main(argv) == 2
    line = _error_line(capsys)
    assert "guidance source 'flaky' (plugin 'flaky-plugin') raised in guide(): KeyError: 'prompt-7'" in line
    assert f"continue it with: npo-bench run --resume {runs / 'f'}" in line
    Flaky.fail_at = None  # the plugin is fixed
    try:
        assert main(["run", "--resume", str(runs / "f")]) == 0
    finally:
        Flaky.fail_at = 2
    lines = [json.loads(x) for x in (runs / "f" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if r["phase"] == "train"] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in lines if r["phase"] == "eval"] == [0, 3, 6]
