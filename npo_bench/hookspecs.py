"""The npo-bench hook set (pluggy project name ``npo_bench``).

Eight hooks: five *registration* hooks receive a ``register`` callback (the host owns collection, duplicate
detection and "did you mean" errors); three *lifecycle* hooks receive one frozen event object, so fields can be
added without breaking any plugin (pluggy's opt-in arguments let an implementation accept fewer parameters).

Call order during ``npo-bench run``:

1. ``npo_bench_register_commands`` — once, when the CLI is built (before argument parsing).
2. ``npo_bench_register_sources``, ``npo_bench_register_verifiers``, ``npo_bench_register_benchmarks``,
   ``npo_bench_register_backends`` — once each, in this order, the first time the host needs a registry.
3. ``npo_bench_on_run_start(event)`` — after the run directory and the resolved config are written and the backend
   and source are set up (resumed from a checkpoint, if so).
4. ``npo_bench_on_step_end(event)`` — after each optimizer step, once its metrics line is flushed. ``event.phase``
   says which kind: ``train``, ``scout`` (a step a source trains ahead with before rolling back) or ``replay`` (a
   step number reported before, trained again after a rollback; it supersedes the earlier report).
5. ``npo_bench_on_run_end(event)`` — after the final evaluation (also when the run fails; ``event.error`` says why).

The host calls every hook through the plugin manager (:mod:`npo_bench.hookcalls`), one plugin at a time in
registration order, so ``NPO_BENCH_TRACE_PLUGINS=1`` traces each call and an implementation may take fewer
arguments than its spec. Observer hooks (3–5) must not mutate their event; an observer that raises is reported by
plugin name and the run goes on. A registration or command hook that raises stops with an error naming the plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # heavy or circular types only for the type checker
    import argparse
    from collections.abc import Callable

    from npo_bench.types import RunEnd, RunStart, StepEnd

PROJECT = "npo_bench"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def npo_bench_register_sources(register: Callable[..., None]) -> None:
    """Register guidance sources: ``register("near_future", NearFutureSource)`` (a class or factory)."""


@hookspec
def npo_bench_register_verifiers(register: Callable[..., None]) -> None:
    """Register verifiers (reward = benchmark scorer = guide filter): ``register("exact", ExactVerifier)``."""


@hookspec
def npo_bench_register_benchmarks(register: Callable[..., None]) -> None:
    """Register benchmark evaluators: ``register("mathvista", MathVista)``."""


@hookspec
def npo_bench_register_backends(register: Callable[..., None]) -> None:
    """Register training backends implementing ``TrainerControl``: ``register("embedded", EmbeddedBackend)``."""


@hookspec
def npo_bench_register_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add CLI commands: ``p = subparsers.add_parser("name"); p.set_defaults(handler=fn)``."""


@hookspec
def npo_bench_on_run_start(event: RunStart) -> None:
    """A run starts (or resumes): run directory, resolved config, start step."""


@hookspec
def npo_bench_on_step_end(event: StepEnd) -> None:
    """One optimizer step finished: its step number, phase (train | scout | replay) and namespaced metrics."""


@hookspec
def npo_bench_on_run_end(event: RunEnd) -> None:
    """A run ended: final metrics, or the error that stopped it."""
