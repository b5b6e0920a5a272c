"""Typed calls of the eight hooks, every one through the plugin manager.

Calling a hook through pluggy (never a hook implementation's function by hand) is what makes
``NPO_BENCH_TRACE_PLUGINS`` trace every call and lets an implementation take fewer arguments than its spec (pluggy's
opt-in arguments). Each plugin is called on its own (a subset hook caller), so the host can name the plugin that
registered something or raised, in registration order:

- registration and command hooks: an exception becomes a :class:`UserError` naming the plugin (a ``UserError`` the
  plugin raised itself passes through);
- observer hooks (run start, step end, run end): an exception is returned as a warning naming the plugin, and the
  other plugins are still called.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import Any

import pluggy

from npo_bench.errors import UserError
from npo_bench.types import RunEnd, RunStart, StepEnd

Register = Callable[..., None]  # register(name, obj, description="")
MakeRegister = Callable[[str], Register]  # plugin name → the register callback that plugin gets

REGISTRATION_HOOKS: dict[str, str] = {
    # kind of plugin object → the hook that registers it
    "source": "npo_bench_register_sources",
    "verifier": "npo_bench_register_verifiers",
    "benchmark": "npo_bench_register_benchmarks",
    "backend": "npo_bench_register_backends",
}


class HookCalls:
    """One method per hook; the plugin manager does every call."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm

    # ---- registration (the host's registries) --------------------------------------------------------------
    def register(self, kind: str, make_register: MakeRegister) -> None:
        """Call the registration hook of ``kind`` (``source``, ``verifier``, ``benchmark``, ``backend``) on each
        plugin, with the ``register`` callback ``make_register(plugin_name)``."""
        hook = REGISTRATION_HOOKS[kind]
        for plugin_name, call in self._each(hook):
            self._strict(hook, plugin_name, call, register=make_register(plugin_name))

    def register_commands(self, subparsers: argparse._SubParsersAction[Any]) -> None:
        """Let plugins add CLI commands (once, when the parser is built)."""
        hook = "npo_bench_register_commands"
        for plugin_name, call in self._each(hook):
            self._strict(hook, plugin_name, call, subparsers=subparsers)

    # ---- observers -----------------------------------------------------------------------------------------
    def on_run_start(self, event: RunStart) -> list[str]:
        return self._observe("npo_bench_on_run_start", event)

    def on_step_end(self, event: StepEnd) -> list[str]:
        return self._observe("npo_bench_on_step_end", event)

    def on_run_end(self, event: RunEnd) -> list[str]:
        return self._observe("npo_bench_on_run_end", event)

    # ---- mechanics -----------------------------------------------------------------------------------------
    def _each(self, hook: str) -> Iterator[tuple[str, pluggy.HookCaller]]:
        """(plugin name, a hook caller for that plugin alone), in registration order."""
        caller: pluggy.HookCaller = getattr(self._pm.hook, hook)
        plugins = self._pm.get_plugins()
        for impl in caller.get_hookimpls():
            others = [plugin for plugin in plugins if plugin is not impl.plugin]
            yield impl.plugin_name, self._pm.subset_hook_caller(hook, remove_plugins=others)

    @staticmethod
    def _strict(hook: str, plugin_name: str, call: pluggy.HookCaller, **kwargs: Any) -> None:
        try:
            call(**kwargs)
        except UserError:
            raise
        except Exception as exc:
            raise UserError(
                f"plugin {plugin_name!r} raised in {hook}: {type(exc).__name__}: {exc}",
                hint=f"set NPO_BENCH_DISABLE_PLUGINS={plugin_name} to skip it",
            ) from exc

    def _observe(self, hook: str, event: Any) -> list[str]:
        warnings = []
        for plugin_name, call in self._each(hook):
            try:
                call(event=event)
            except Exception as exc:
                warnings.append(f"plugin {plugin_name!r} raised in {hook}: {type(exc).__name__}: {exc}")
        return warnings
