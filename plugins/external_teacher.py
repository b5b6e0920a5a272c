"""The ``external_teacher`` guidance source: LUFFY (Yan et al., arXiv 2504.14945; npo-paper.md §6.1).

Off-policy traces from a stronger *external* model mixed into every group: with ``rollout.n = 8`` and LUFFY's
``n_prefix = 1``, each prompt gets 1 teacher trace + 7 on-policy samples (here: the n-th slot of the sampled group is
replaced, for every prompt with a usable trace — LUFFY does not gate). Advantages are computed over the mixed group,
without std normalisation (``grpo_use_std=False``; the ``luffy`` method preset sets ``trainer.advantage: mean``).
The teacher slot is trained with the ``luffy`` loss: the behaviour probability is taken as 1, so the ratio is π_θ
itself, reshaped by f(p) = p/(p+γ), γ = 0.1 (``off_policy_reshape="p_div_p_0.1"``), with no clip; on-policy tokens
keep the clipped surrogate (npo_bench.grpo.losses).

Where the traces come from (option ``from``):

- ``field`` (default): a per-item field of the dataset, ``prompt.meta[field]`` — on MMFineReason that is
  ``qwen3vl_235b_thinking_response``; on the synthetic task it is ``teacher``, a programmatic oracle that works the
  answer out from the scene and writes it in a verbose style unlike the policy's (benchmarks/synthetic/teacher.py);
- ``checkpoint``: a model directory or run directory with the *same architecture* as the policy (e.g. a stronger
  run's final checkpoint); the teacher samples ``teacher_samples`` responses per prompt and the first verified one
  is used. A teacher of another architecture needs its traces precomputed into a dataset field.

A trace is used only if the verifier accepts it (``require_correct``, default on: LUFFY's R1 traces were filtered
for correctness); traces are tokenised for the policy with EOS appended and cached per prompt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from npo_bench import UserError, hookimpl
from npo_bench.guidance import TrainerControl, resolve_model_checkpoint, source_options
from npo_bench.options import Option
from npo_bench.types import CheckpointRef, Group, Injection, Prompt, StepStats, Trajectory

OPTIONS: dict[str, Option] = {
    "from": Option(
        "field",
        "where traces come from: field (a dataset field) | checkpoint (a same-architecture model)",
        choices=("field", "checkpoint"),
    ),
    "field": Option(
        "teacher",
        "the prompt.meta field holding the teacher's response (MMFineReason: qwen3vl_235b_thinking_response)",
    ),
    "checkpoint": Option(
        None, "with from=checkpoint: a model directory, checkpoint directory or run directory", kind=str
    ),
    "teacher_samples": Option(
        8, "with from=checkpoint: teacher samples per prompt; the first verified one is used", ge=1
    ),
    "require_correct": Option(True, "use a trace only if the verifier accepts it"),
}


class ExternalTeacherSource:
    """LUFFY: one verified external-teacher trace per group, trained with the shaped off-policy loss."""

    options = OPTIONS

    @staticmethod
    def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
        """The options with defaults filled in; a clear error for anything unusable (called before any work)."""
        opts = source_options("external_teacher", OPTIONS, options)
        if opts["from"] == "checkpoint":
            if not opts["checkpoint"]:
                raise UserError("source 'external_teacher': from=checkpoint needs the option checkpoint=DIR")
            resolve_model_checkpoint(Path(str(opts["checkpoint"])), tag="teacher")
        elif opts["from"] != "field":
            raise UserError(f"source 'external_teacher': from must be field or checkpoint, got {opts['from']!r}")
        return opts

    def setup(self, ctl: TrainerControl, options: Mapping[str, Any]) -> None:
        self.opts = self.validate_options(options)
        self.ctl = ctl
        self.teacher: CheckpointRef | None = None
        if self.opts["from"] == "checkpoint":
            self.teacher = resolve_model_checkpoint(Path(str(self.opts["checkpoint"])), tag="teacher")
        self.traces: dict[str, Trajectory | None] = {}  # per prompt: the usable trace, or None (none / rejected)
        self.last: dict[str, float] = {}

    def before_step(self, ctl: TrainerControl) -> None:
        """Prepare the teacher traces of the coming step's prompts (those not seen before)."""
        self.ctl = ctl
        self._prepare(ctl.prompts_between(ctl.step, ctl.step + 1))

    def select_prompts(self, step: int, fresh: Sequence[Prompt]) -> list[Prompt]:
        return list(fresh)

    def _prepare(self, prompts: Sequence[Prompt]) -> None:
        """Fetch, tokenise and verify the traces of prompts not seen before."""
        new = [p for p in prompts if p.id not in self.traces]
        if not new:
            return
        if self.teacher is not None:
            for prompt, group in zip(
                new, self.ctl.sample(new, int(self.opts["teacher_samples"]), self.teacher), strict=True
            ):
                found = next((t for t in group if t.correct), None)
                self.traces[prompt.id] = None if found is None else _as_teacher(found)
            return
        field = str(self.opts["field"])
        for prompt in new:
            text = prompt.meta.get(field)
            if text is None:
                raise UserError(
                    f"source 'external_teacher': prompt {prompt.id} has no field {field!r}",
                    hint=f"fields: {sorted(prompt.meta)}; set source.options.field",
                )
            trace = self.ctl.make_trajectory(prompt, str(text), origin="teacher")
            usable = trace.correct or not self.opts["require_correct"]
            self.traces[prompt.id] = dataclasses.replace(trace, loss_mode="luffy") if usable else None

    def guide(self, groups: Sequence[Group]) -> list[Injection]:
        """Every group with a usable trace: its last slot ← the teacher's trace (loss ``luffy``, set on the trace)."""
        self._prepare([g.prompt for g in groups])
        injections = [
            Injection(group_index=i, slot="last", trajectory=trace)
            for i, g in enumerate(groups)
            if (trace := self.traces.get(g.prompt.id)) is not None
        ]
        self.last = {
            "guidance/active": 1.0,
            "guidance/teacher_missing": float(sum(t is None for t in self.traces.values())),
        }
        return injections

    def after_step(self, stats: StepStats) -> None:
        return None

    def metrics(self) -> dict[str, float]:
        return dict(self.last)

    def state_dict(self) -> dict[str, Any]:
        return {}  # traces are a pure function of the data and the teacher: rebuilt lazily after a resume

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        return None


def _as_teacher(trajectory: Trajectory) -> Trajectory:
    """A teacher-sampled trajectory as an off-policy trace trained with the ``luffy`` loss (the teacher's log-probs
    are not the policy's, and LUFFY takes the behaviour probability as 1: none are kept)."""
    return dataclasses.replace(trajectory, logprobs=None, origin="teacher", loss_mode="luffy")


@hookimpl
def npo_bench_register_sources(register):
    register("external_teacher", ExternalTeacherSource, description="LUFFY: an external teacher's trace in every group")
