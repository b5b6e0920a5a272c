"""The plugin host: a pluggy manager, entry-point loading and one registry per kind of plugin.

Built-in plugins are found through the same ``npo_bench`` entry-point group as a third party's, so the host always
exercises its own API. Environment variables (read when the host loads plugins):

- ``NPO_BENCH_LOAD_PLUGINS=a,b``    load only these entry points (by entry-point name);
- ``NPO_BENCH_DISABLE_PLUGINS=a,b`` load every entry point except these;
- ``NPO_BENCH_TRACE_PLUGINS=1``     print every hook call with its arguments and result to stderr.

Every hook is called through the plugin manager, by the typed methods of :class:`npo_bench.hookcalls.HookCalls`
(``host.hooks``), so tracing and pluggy's opt-in arguments cover all eight.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy

from npo_bench import hookspecs
from npo_bench.errors import UserError, did_you_mean
from npo_bench.hookcalls import REGISTRATION_HOOKS, HookCalls

ENTRY_POINT_GROUP = hookspecs.PROJECT

KINDS: dict[str, str] = REGISTRATION_HOOKS  # kind -> registration hook


@dataclass(frozen=True)
class Registration:
    """One named object registered by one plugin."""

    kind: str
    name: str
    obj: Any
    plugin: str
    description: str

    @property
    def summary(self) -> str:
        return self.description or _first_doc_line(self.load())

    def load(self) -> Any:
        """The registered object; a ``"module:attr"`` string is imported on first use (keeps start-up light)."""
        if not isinstance(self.obj, str):
            return self.obj
        module_name, _, attr = self.obj.partition(":")
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attr) if attr else module
        except Exception as exc:  # a plugin module may raise anything on import: name it, never a bare traceback
            text = str(exc).strip().splitlines()
            detail = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
            raise UserError(
                f"{self.kind} {self.name!r} from plugin {self.plugin!r} cannot be loaded from {self.obj!r}: {detail}",
                hint=f"fix or uninstall the plugin, or set NPO_BENCH_DISABLE_PLUGINS={self.plugin}",
            ) from exc


def _first_doc_line(obj: Any) -> str:
    doc = getattr(obj, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


class Registry:
    """Named objects of one kind; unknown names get a "did you mean" hint."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Registration] = {}

    def add(self, registration: Registration) -> None:
        previous = self._entries.get(registration.name)
        if previous is not None:
            raise UserError(
                f"{self.kind} {registration.name!r} is registered twice: by plugin {previous.plugin!r} "
                f"and by plugin {registration.plugin!r}",
                hint=f"disable one with NPO_BENCH_DISABLE_PLUGINS={registration.plugin}",
            )
        self._entries[registration.name] = registration

    def get(self, name: str) -> Registration:
        try:
            return self._entries[name]
        except KeyError:
            raise UserError(f"unknown {self.kind} {name!r}", hint=did_you_mean(name, self._entries)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Registration]:
        return iter(sorted(self._entries.values(), key=lambda r: r.name))

    def names(self) -> list[str]:
        return sorted(self._entries)


def _env_list(var: str) -> set[str] | None:
    value = os.environ.get(var)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


class PluginHost:
    """A pluggy manager plus registries, filled lazily from the hooks.

    Create a fresh one per test (``PluginHost(load_entry_points=False)`` then ``register``); the CLI and library
    functions share the process-wide host from :func:`get_host`.
    """

    def __init__(self, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.hooks = HookCalls(self.pm)  # every hook call goes through here
        self._registries: dict[str, Registry] | None = None
        self._versions: dict[str, str] = {}
        if load_entry_points:
            self._load_entry_points()
        if os.environ.get("NPO_BENCH_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(lambda message: print(message, end="", file=sys.stderr))
            self.pm.enable_tracing()

    # ---- loading -----------------------------------------------------------------------------------------
    def _load_entry_points(self) -> None:
        only = _env_list("NPO_BENCH_LOAD_PLUGINS")
        blocked = _env_list("NPO_BENCH_DISABLE_PLUGINS") or set()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in blocked or (only is not None and ep.name not in only):
                continue
            if self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken third-party plugin must be named, not crash with a traceback
                raise UserError(
                    f"plugin {ep.name!r} ({ep.value}) failed to import: {type(exc).__name__}: {exc}",
                    hint=f"fix or uninstall it, or set NPO_BENCH_DISABLE_PLUGINS={ep.name}",
                ) from exc
            self.register(plugin, name=ep.name, version=ep.dist.version if ep.dist else "")

    def register(self, plugin: Any, name: str, version: str = "") -> None:
        """Register a plugin object (module or instance with ``@hookimpl`` functions) under ``name``."""
        if self.pm.get_plugin(name) is not None:
            raise UserError(f"a plugin named {name!r} is already registered")
        self.pm.register(plugin, name=name)
        self.pm.check_pending()  # a misspelled hook name fails loudly instead of being ignored
        self._versions[name] = version
        self._registries = None  # rebuilt on next use

    # ---- registries --------------------------------------------------------------------------------------
    def registry(self, kind: str) -> Registry:
        if self._registries is None:
            self._registries = self._collect()
        return self._registries[kind]

    def _collect(self) -> dict[str, Registry]:
        registries = {kind: Registry(kind) for kind in KINDS}
        for kind, registry in registries.items():
            self.hooks.register(kind, lambda plugin, r=registry, k=kind: self._make_register(r, k, plugin))
        return registries

    @staticmethod
    def _make_register(registry: Registry, kind: str, plugin_name: str) -> Callable[..., None]:
        def register(name: str, obj: Any, description: str = "") -> None:
            if not isinstance(name, str) or not name:
                raise UserError(f"plugin {plugin_name!r} registered a {kind} with an invalid name {name!r}")
            registry.add(Registration(kind, name, obj, plugin_name, description))

        return register

    def get(self, kind: str, name: str) -> Registration:
        return self.registry(kind).get(name)

    # ---- introspection -----------------------------------------------------------------------------------
    def describe_plugins(self) -> list[dict[str, Any]]:
        """Each plugin with its version, the hooks it implements and what it registered."""
        registered: dict[str, list[str]] = {}
        for kind in KINDS:
            for reg in self.registry(kind):
                registered.setdefault(reg.plugin, []).append(f"{kind}:{reg.name}")
        rows = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda item: item[0]):
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            rows.append(
                {
                    "name": name,
                    "version": self._versions.get(name, ""),
                    "hooks": hooks,
                    "registers": sorted(registered.get(name, [])),
                }
            )
        return rows


_HOST: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide host, created (and entry points loaded) on first use."""
    global _HOST
    if _HOST is None:
        _HOST = PluginHost()
    return _HOST


def set_host(host: PluginHost | None) -> PluginHost | None:
    """Swap the process-wide host (tests); returns the previous one."""
    global _HOST
    previous, _HOST = _HOST, host
    return previous
