"""Test helpers for plugin authors (a pytest plugin, registered through the ``pytest11`` entry point).

Fixtures:

- ``plugin_host`` — a fresh :class:`~npo_bench.host.PluginHost` with the installed entry points, swapped in as the
  process-wide host for one test, so a test can ``register`` inline plugins without leaking into others;
- ``fake_control`` — a :class:`FakeTrainerControl`: a scripted ``TrainerControl`` that records every call, so a
  guidance source can be tested without a model.

Helpers: :func:`make_group` builds a verified group with a given number of correct rollouts;
:func:`checkpoint_round_trip` sends a source's state through a checkpoint's save and weights-only load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from npo_bench.host import PluginHost, set_host
from npo_bench.types import CheckpointRef, Group, Prompt, Trajectory


def make_trajectory(prompt_id: str, correct: bool, origin: str = "policy", length: int = 4) -> Trajectory:
    """A verified trajectory with ``length`` tokens and log-probs of −1 per token."""
    return Trajectory(
        prompt_id=prompt_id,
        response_ids=torch.arange(length, dtype=torch.long) + 10,
        text="<answer>1</answer>" if correct else "<answer>0</answer>",
        logprobs=torch.full((length,), -1.0),
        reward=1.0 if correct else 0.0,
        correct=correct,
        origin=origin,
    )


def finite_difference_gradient(loss_of: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, h: float = 1e-6):
    """Central differences (loss(x + h·e_k) − loss(x − h·e_k)) / 2h for every element k of ``x`` (use float64).

    For checking a loss mode's autograd gradient: ``loss_of(x).backward()`` then compare ``x.grad`` with this.
    """
    base = x.detach()
    numeric = torch.zeros_like(base)
    flat = numeric.view(-1)
    for k in range(base.numel()):
        step = torch.zeros_like(base).view(-1)
        step[k] = h
        step = step.view_as(base)
        flat[k] = (loss_of(base + step) - loss_of(base - step)) / (2 * h)
    return numeric


def checkpoint_round_trip(state: Any) -> Any:
    """``state`` written and read back exactly as a checkpoint stores a source's ``state_dict()`` (``torch.save``,
    then ``torch.load(weights_only=True)``); a UserError naming the first entry that is not plain data."""
    import io

    from npo_bench.trainer.checkpoints import check_plain_state

    check_plain_state({"source": state})
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def without_timings(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Metric records with the wall-clock ``time/…`` entries dropped: what two runs of one seed must share."""
    return [{k: v for k, v in r.items() if not k.startswith("time/")} for r in records]


def logged_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """A run directory's ``metrics.jsonl``, record by record, without timings (:func:`without_timings`)."""
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return without_timings(json.loads(line) for line in lines)


def make_group(prompt_id: str, correct: int, n: int = 8) -> Group:
    """A verified group of ``n`` rollouts of which the first ``correct`` are correct."""
    prompt = Prompt(prompt_id, f"question {prompt_id}", "1")
    return Group(prompt, tuple(make_trajectory(prompt_id, i < correct) for i in range(n)))


Sampler = Callable[[Prompt, int, "CheckpointRef | None", int], list[Trajectory]]


@dataclass
class FakeTrainerControl:
    """A ``TrainerControl`` without a model.

    The "weights" are the step number: ``save`` remembers it, ``restore`` sets it back, ``train(k)`` advances it.
    ``sampler(prompt, n, checkpoint, weights_step)`` decides what ``sample`` returns (default: every trajectory is
    correct iff the weights are at least ``solves_after`` steps old). Every call is recorded in ``calls``.
    """

    prompts: Sequence[Prompt]
    batch_size: int = 2
    sampler: Sampler | None = None
    solves_after: int = 5
    step: int = 0
    calls: list[tuple[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    saved: dict[str, int] = field(default_factory=dict)

    def save(self, tag: str) -> CheckpointRef:
        self.calls.append(("save", tag))
        self.saved[tag] = self.step
        return CheckpointRef(self.step, tag, Path("/fake") / tag)

    def restore(self, ref: CheckpointRef) -> None:
        self.calls.append(("restore", ref.tag))
        self.step = self.saved[ref.tag]

    def train(self, steps: int) -> None:
        self.calls.append(("train", steps))
        self.step += steps

    def sample(
        self, prompts: Sequence[Prompt], n: int, checkpoint: CheckpointRef | None = None
    ) -> list[list[Trajectory]]:
        self.calls.append(("sample", (len(prompts), n, checkpoint.tag if checkpoint else None)))
        weights_step = self._weights_step(checkpoint)
        sampler = self.sampler or self._default_sampler
        return [sampler(p, n, checkpoint, weights_step) for p in prompts]

    def _default_sampler(
        self, prompt: Prompt, n: int, checkpoint: CheckpointRef | None, weights_step: int
    ) -> list[Trajectory]:
        origin = f"guide@{checkpoint.tag}" if checkpoint else "policy"
        return [make_trajectory(prompt.id, weights_step >= self.solves_after, origin) for _ in range(n)]

    def logprobs(
        self, trajectories: Sequence[Trajectory], checkpoint: CheckpointRef | None = None
    ) -> list[torch.Tensor]:
        self.calls.append(("logprobs", (len(trajectories), checkpoint.tag if checkpoint else None)))
        weights_step = self._weights_step(checkpoint)
        return [torch.full((t.length,), -1.0 - 0.01 * weights_step) for t in trajectories]

    def prompts_between(self, start: int, end: int) -> list[Prompt]:
        seen: dict[str, Prompt] = {}
        for step in range(start, end):
            for k in range(self.batch_size):
                prompt = self.prompts[(step * self.batch_size + k) % len(self.prompts)]
                seen.setdefault(prompt.id, prompt)
        return list(seen.values())

    def _weights_step(self, checkpoint: CheckpointRef | None) -> int:
        """The step of the weights a call runs on: a saved tag, an external model (its ref's step), or the current."""
        if checkpoint is None:
            return self.step
        return self.saved.get(checkpoint.tag, checkpoint.step)

    def log_event(self, event: Mapping[str, Any]) -> None:
        self.events.append({"step": self.step, **event})

    def make_trajectory(self, prompt: Prompt, text: str, origin: str) -> Trajectory:
        """Tokens = one per word + EOS; correct iff the text contains ``<answer>{gold}</answer>``."""
        self.calls.append(("make_trajectory", prompt.id))
        correct = f"<answer>{prompt.answer}</answer>" in text
        ids = torch.arange(len(text.split()) + 1, dtype=torch.long) + 10
        return Trajectory(prompt.id, ids, text, None, float(correct), correct, origin)

    def entropies(
        self, trajectories: Sequence[Trajectory], checkpoint: CheckpointRef | None = None
    ) -> list[torch.Tensor]:
        """Per-token entropy = −(recorded log-prob), so a test controls which trajectory is the lowest-entropy one."""
        self.calls.append(("entropies", len(trajectories)))
        return [-t.logprobs if t.logprobs is not None else torch.ones(t.length) for t in trajectories]


@pytest.fixture
def plugin_host() -> Iterator[PluginHost]:
    host = PluginHost()
    previous = set_host(host)
    try:
        yield host
    finally:
        set_host(previous)


@pytest.fixture
def fake_control() -> FakeTrainerControl:
    prompts = [Prompt(f"p{i}", f"question {i}", "1") for i in range(8)]
    return FakeTrainerControl(prompts)
