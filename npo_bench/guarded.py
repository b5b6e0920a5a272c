"""Plugin faults, named: a guidance source that raises is reported with its name and plugin, never as a bare traceback.

:class:`GuardedSource` wraps the source a run uses. Every protocol call goes through it; an exception other than a
:class:`~npo_bench.errors.UserError` (which already names what is wrong) becomes a :class:`PluginFault` saying which
source, which plugin, which method and what it raised (``--debug`` shows the original traceback, chained). The
source sees the backend's ``TrainerControl`` through :class:`GuardedControl`, which marks what the *backend* raises
inside a control call (an out-of-memory in a scout, a failed restore check): those pass on unchanged, the source is
not blamed for them. Its
``state_dict()`` must be plain data (:mod:`npo_bench.state`): anything else is named here, before a checkpoint is
written. Attribute reads other than the protocol pass through to the source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from npo_bench.errors import UserError
from npo_bench.state import PLAIN_KINDS, first_non_plain
from npo_bench.types import Group, Injection, Prompt, StepStats


class PluginFault(UserError):
    """A plugin raised where npo-bench called it; the message names the plugin and the call."""


BACKEND_FAULT = "npo_bench_backend_fault"  # set on an exception raised by the backend inside a control call


class GuardedControl:
    """A ``TrainerControl`` whose calls mark the exceptions they raise as the backend's (attributes pass through)."""

    def __init__(self, ctl: Any):
        self.wrapped_control = ctl

    def __getattr__(self, attribute: str) -> Any:  # only called for names not defined here
        value = getattr(self.wrapped_control, attribute)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except Exception as exc:
                setattr(exc, BACKEND_FAULT, True)
                raise

        return call


class GuardedSource:
    """A guidance source whose faults name it; behaves exactly like the source otherwise."""

    def __init__(self, source: Any, name: str, plugin: str):
        self.wrapped = source
        self.source_name = name
        self.plugin = plugin

    def __getattr__(self, attribute: str) -> Any:  # only called for names not defined here
        return getattr(self.wrapped, attribute)

    @property
    def label(self) -> str:
        return f"guidance source {self.source_name!r} (plugin {self.plugin!r})"

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.wrapped, method)(*args)
        except UserError:
            raise
        except Exception as exc:
            if getattr(exc, BACKEND_FAULT, False):  # the backend failed inside a control call: not the source's fault
                raise
            text = str(exc).strip().splitlines()
            detail = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
            raise PluginFault(f"{self.label} raised in {method}(): {detail}") from exc

    def setup(self, ctl: Any, options: Mapping[str, Any]) -> None:
        self._call("setup", _guarded_control(ctl), options)

    def before_step(self, ctl: Any) -> None:
        self._call("before_step", _guarded_control(ctl))

    def select_prompts(self, step: int, fresh: Sequence[Prompt]) -> list[Prompt]:
        return self._call("select_prompts", step, fresh)

    def guide(self, groups: Sequence[Group]) -> list[Injection]:
        return self._call("guide", groups)

    def after_step(self, stats: StepStats) -> None:
        self._call("after_step", stats)

    def metrics(self) -> dict[str, float]:
        return self._call("metrics")

    def state_dict(self) -> dict[str, Any]:
        state = self._call("state_dict")
        found = first_non_plain(state)
        if found is not None:
            path, kind = found
            raise PluginFault(
                f"{self.label}: state_dict(){path} is a {kind}; checkpoints hold only {PLAIN_KINDS}",
                hint="see GuidanceSource.state_dict in npo_bench/guidance.py (trajectories: npo_bench.state)",
            )
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._call("load_state_dict", state)


def _guarded_control(ctl: Any) -> Any:
    return ctl if ctl is None or isinstance(ctl, GuardedControl) else GuardedControl(ctl)


def guard_source(source: Any, registration: Any) -> GuardedSource:
    """``source`` wrapped so that its faults name ``registration``'s source and plugin."""
    return GuardedSource(source, registration.name, registration.plugin)
