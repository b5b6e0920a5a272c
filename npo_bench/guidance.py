"""The two protocols that let a guidance source drive a training backend.

A backend (embedded PyTorch loop, OpenRLHF) implements ``TrainerControl``; a guidance source (a plugin) implements
``GuidanceSource``. Per optimizer step the backend calls, in order::

    source.before_step(ctl)        # may save, train ahead (ctl.train), harvest (ctl.sample), roll back (ctl.restore)
    source.select_prompts(step, fresh)  # -> the step's prompts (ExGRPO swaps in replayed questions)
    groups = generate + verify     # n on-policy rollouts per prompt, rewards from the verifier
    source.guide(groups)           # -> list[Injection]: group surgery for this step (p̂ from the on-policy group)
    advantages + loss + update     # over the mixed groups; each member trained with its own loss_mode
    source.metrics()               # -> dict merged into the step's metrics line
    source.after_step(stats)       # observe (mistake pool, replay buffer, trigger)

``ctl.train`` runs plain GRPO steps *without* calling the source (a scout run). Source state travels in every
checkpoint through ``state_dict``/``load_state_dict``, so ``--resume`` and rollbacks restore it; it must be plain
data (see ``GuidanceSource.state_dict``). Options are declared as ``options = {name: Option(default, meaning, …)}``
(:mod:`npo_bench.options`) and checked — names, types, ranges — before a run directory exists; a source may add
cross-option checks in a static ``validate_options(options)``. Any exception a source raises is reported naming it
(:mod:`npo_bench.guarded`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from npo_bench.options import fill_options
from npo_bench.types import CheckpointRef, Group, Injection, Prompt, StepStats, Trajectory

if TYPE_CHECKING:
    import torch


@runtime_checkable
class TrainerControl(Protocol):
    """What a guidance source may ask of a training backend."""

    @property
    def step(self) -> int:
        """Optimizer steps completed so far (the next step is ``step + 1``)."""

    def save(self, tag: str) -> CheckpointRef:
        """Save weights, optimizer, RNG, data cursor and source state under ``tag``."""

    def restore(self, ref: CheckpointRef) -> None:
        """Roll back to ``ref``: afterwards the backend replays exactly the same prompts with the same weights."""

    def train(self, steps: int) -> None:
        """Run ``steps`` plain GRPO steps (no guidance): a scout run ahead."""

    def sample(
        self, prompts: Sequence[Prompt], n: int, checkpoint: CheckpointRef | None = None
    ) -> list[list[Trajectory]]:
        """``n`` verified trajectories per prompt from the current weights or a saved checkpoint."""

    def logprobs(
        self, trajectories: Sequence[Trajectory], checkpoint: CheckpointRef | None = None
    ) -> list[torch.Tensor]:
        """Per-token log-probs (L,) of each trajectory under the current weights or a saved checkpoint."""

    def prompts_between(self, start: int, end: int) -> list[Prompt]:
        """The prompts that steps ``start + 1 … end`` see (the data order is deterministic)."""

    def log_event(self, event: Mapping[str, Any]) -> None:
        """Append one intervention record to the run's ``events.jsonl`` (the current step is added)."""

    def make_trajectory(self, prompt: Prompt, text: str, origin: str) -> Trajectory:
        """An external response (a teacher's) tokenised for the policy, EOS appended, verified; no log-probs."""

    def entropies(
        self, trajectories: Sequence[Trajectory], checkpoint: CheckpointRef | None = None
    ) -> list[torch.Tensor]:
        """Per-token entropy (L,) of the policy's distribution along each trajectory."""


@runtime_checkable
class GuidanceSource(Protocol):
    """A plugin that changes the composition of groups (and may control the trainer around a step)."""

    def setup(self, ctl: TrainerControl, options: Mapping[str, Any]) -> None: ...

    def before_step(self, ctl: TrainerControl) -> None: ...

    def select_prompts(self, step: int, fresh: Sequence[Prompt]) -> list[Prompt]:
        """The prompts step ``step`` trains on; ``fresh`` are the data stream's (return them unchanged by default)."""
        ...

    def guide(self, groups: Sequence[Group]) -> list[Injection]: ...

    def after_step(self, stats: StepStats) -> None: ...

    def metrics(self) -> dict[str, float]:
        """Namespaced metrics (``guidance/…``, ``auto/…``) of the step just guided, merged into its metrics line."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue identically after ``--resume``, as **plain data only**: dicts, lists,
        tuples, ``str``, ``int``, ``float``, ``bool``, ``None`` and torch tensors.

        Checkpoints are read with ``torch.load(..., weights_only=True)`` so that loading a run directory never
        executes code; a trajectory is stored as ``npo_bench.state.trajectory_state(t)`` and rebuilt with
        ``trajectory_from_state``. Anything else (a dataclass, a numpy scalar, a set) stops the run at the save with
        one line naming the source and the entry.
        """
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (read back from a checkpoint)."""
        ...


def resolve_model_checkpoint(path: Path, tag: str) -> CheckpointRef:
    """A loadable weights directory for ``path``: a run directory (its newest checkpoint), a checkpoint or a model
    directory, for a source that samples from *another* model of the policy's architecture (RLEP's finished run, a
    teacher); a clear error when there is none. The run-directory layout is the trainer's, imported on first use."""
    from npo_bench.trainer.checkpoints import resolve_model_checkpoint as resolve

    return resolve(path, tag)


def source_options(source: str, schema: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with the defaults of ``schema`` filled in; unknown names are an error.

    ``schema`` maps a name to an :class:`npo_bench.options.Option` (type- and range-checked) or to a plain
    ``(default, meaning)`` pair (checked by name only).
    """
    return fill_options(source, schema, options)
