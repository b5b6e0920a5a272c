"""The npo-bench hook set (pluggy project name ``npo_bench``).

Eight hooks: five *registration* hooks receive a ``register`` callback (the host owns collection, duplicate
detection and "did you mean" errors); three *lifecycle* hooks receive one frozen event object, so fields can be
added without breaking any plugin (pluggy's opt-in arguments let an implementation accept fewer parameters).

Call order during ``npo-bench run``:

1. ``npo_bench_register_backends``, ``npo_bench_register_sources``, ``npo_bench_register_verifiers``,
   ``npo_bench_register_benchmarks`` — once, lazily, the first time the host needs a registry.
2. ``npo_bench_register_commands`` — once, when the CLI is built (before argument parsing).
3. ``npo_bench_on_run_start(event)`` — after the run directory and the resolved config are written.
4. ``npo_bench_on_step_end(event)`` — after each optimizer step, once its metrics line is flushed.
   Steps replayed after a rollback are reported again, with the same step number.
5. ``npo_bench_on_run_end(event)`` — after the final evaluation (also when the run fails; ``event.error`` says why).

Observer hooks (3–5) must not mutate their event; an observer that raises is reported by plugin name and the run
goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
def npo_bench_register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add CLI commands: ``p = subparsers.add_parser("name"); p.set_defaults(handler=fn)``."""


@hookspec
def npo_bench_on_run_start(event: RunStart) -> None:
    """A run starts (or resumes): run directory, resolved config, start step."""


@hookspec
def npo_bench_on_step_end(event: StepEnd) -> None:
    """One optimizer step finished: its step number and namespaced metrics."""


@hookspec
def npo_bench_on_run_end(event: RunEnd) -> None:
    """A run ended: final metrics, or the error that stopped it."""


ALL_HOOKS: tuple[str, ...] = tuple(sorted(name for name in dir() if name.startswith("npo_bench_")))
