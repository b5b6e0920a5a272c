"""The embedded backend: a PyTorch + transformers GRPO trainer on one device that implements ``TrainerControl``.

It owns the training state (policy, optimizer, step, RNG, data stream) and wires the phases of
:mod:`npo_bench.trainer.step` together; guidance sources drive it through the ``TrainerControl`` methods.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from npo_bench.benchmark import make_benchmark
from npo_bench.config import RunConfig, to_dict
from npo_bench.errors import UserError
from npo_bench.grpo.groups import apply_injections
from npo_bench.grpo.schedules import LR_SCHEDULES
from npo_bench.guidance import GuidanceSource
from npo_bench.policy.batching import EncodingCache, step_encoder
from npo_bench.policy.loading import load_policy_for
from npo_bench.policy.micro_batches import MicroBatching, forward_micro_batches
from npo_bench.runs import RunDir
from npo_bench.trainer import checkpoints
from npo_bench.trainer.data import PromptStream
from npo_bench.trainer.resume import restore_bookkeeping
from npo_bench.trainer.step import (
    Timer,
    compute_advantages,
    generate,
    rollout_metrics,
    score_trajectory,
    step_phase,
    training_rows,
    update_policy,
    verify_groups,
)
from npo_bench.types import CheckpointRef, Prompt, StepPhase, StepStats, Trajectory

StepCallback = Callable[[int, dict[str, float], StepPhase], None]  # (step, metrics, phase) after each step


class EmbeddedBackend:
    """GRPO on one device. ``run_step`` is one guided step; ``train`` runs plain (scout) steps."""

    def __init__(self, config: RunConfig, run: RunDir, base_model: Path, on_step: StepCallback | None = None):
        self.config = config
        self.run = run
        self.on_step = on_step
        if config.model.threads:
            torch.set_num_threads(config.model.threads)
        torch.manual_seed(config.seed)
        m = config.model
        self.policy = load_policy_for(base_model, m)
        t = config.trainer
        self.optimizer = torch.optim.AdamW(
            self.policy.model.parameters(), lr=t.lr, weight_decay=t.weight_decay, betas=tuple(t.betas)
        )
        if t.lr_schedule not in LR_SCHEDULES:
            raise UserError(
                f"trainer.lr_schedule={t.lr_schedule!r} is unknown", hint=f"known: {', '.join(LR_SCHEDULES)}"
            )
        self.ref_model = copy.deepcopy(self.policy.model).eval() if t.kl_coef > 0 else None
        self.benchmark = make_benchmark(config.task.benchmark, config.task.options)
        self.train_prompts = self.benchmark.load(config.task.train_split, config.task.train_size, config.task.seed)
        self.prompt_index = {p.id: p for p in self.train_prompts}
        self.stream = PromptStream(self.train_prompts, config.rollout.prompts_per_step, config.seed)
        self.encodings = EncodingCache(self.policy, config.task.prompt_template)
        self.source: GuidanceSource | None = None
        self._step = 0
        self.updates = 0  # optimizer steps ever taken, scout and replayed steps included (compute-honest)
        self.trained_through = 0  # the highest step trained as a guided step: one at or below it is a replay

    # ---- TrainerControl ------------------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        return self._step

    def save(self, tag: str) -> CheckpointRef:
        state = {
            "step": self._step,
            "updates": self.updates,
            "trained_through": self.trained_through,
            "optimizer": self.optimizer.state_dict(),
            "rng": checkpoints.capture_rng(),
            "source": self.source.state_dict() if self.source is not None else {},
            "metrics_lines": self.run.metrics.line_count(),
            "events_lines": self.run.events.line_count(),
        }
        return checkpoints.save_checkpoint(self.run.checkpoints, tag, self.policy.model, self.policy.processor, state)

    def restore(self, ref: CheckpointRef) -> None:
        """Roll the *trainer* back (weights, optimizer, RNG, data cursor); the source keeps its memory."""
        self._restore(ref)

    def resume(self, ref: CheckpointRef) -> None:
        """Restore everything (source state too) and truncate the logs to what the checkpoint had seen."""
        restore_bookkeeping(self, self._restore(ref))

    def _restore(self, ref: CheckpointRef) -> dict[str, Any]:
        """:meth:`restore`, returning the trainer state it read (read once, weights-only)."""
        state = checkpoints.load_trainer_state(ref)
        checkpoints.load_weights_into(self.policy.model, checkpoints.load_weights(ref), ref.path)
        self.optimizer.load_state_dict(state["optimizer"])
        checkpoints.restore_rng(state["rng"])
        self._step = int(state["step"])
        return state

    def train(self, steps: int) -> None:
        for _ in range(steps):
            self._grpo_step(guided=False)

    def sample(
        self, prompts: Sequence[Prompt], n: int, checkpoint: CheckpointRef | None = None
    ) -> list[list[Trajectory]]:
        origin = f"guide@{checkpoint.tag}" if checkpoint is not None else "policy"
        with self.weights_of(checkpoint):
            groups = generate(self.policy, prompts, self._with_n(n), origin=origin, encode=self.encodings.get)
        groups = verify_groups(groups, self.benchmark, self.config.trainer.format_weight)
        return [list(g.trajectories) for g in groups]

    def logprobs(
        self, trajectories: Sequence[Trajectory], checkpoint: CheckpointRef | None = None
    ) -> list[torch.Tensor]:
        return [stats[0] for stats in self._token_stats(trajectories, checkpoint, with_entropy=False)]

    def _token_stats(
        self, trajectories: Sequence[Trajectory], checkpoint: CheckpointRef | None, with_entropy: bool
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(log-probs (L,), entropies (L,) or empty) of each trajectory, without gradient, in the length-bucketed
        micro-batches of the update (``trainer.micro_batch_size`` rows, ``trainer.micro_batch_tokens`` tokens)."""
        t = self.config.trainer
        encodings = [self.encodings.get(self._prompt(trajectory.prompt_id)) for trajectory in trajectories]
        responses = [trajectory.response_ids for trajectory in trajectories]
        size = MicroBatching(t.micro_batch_size, t.micro_batch_tokens)
        out: list[tuple[torch.Tensor, torch.Tensor]] = [(torch.empty(0), torch.empty(0))] * len(trajectories)
        with self.weights_of(checkpoint), torch.no_grad():
            temperature, indices = self.config.rollout.temperature, range(len(trajectories))
            micro_batches = forward_micro_batches(
                self.policy, encodings, responses, indices, size, temperature, with_entropy
            )
            for micro in micro_batches:
                entropy = micro.stats.entropy
                entropies = dict(micro.unpadded(entropy)) if entropy is not None else {}
                for i, logprobs in micro.unpadded(micro.stats.logprobs):
                    out[i] = (logprobs.cpu(), entropies[i].cpu() if i in entropies else torch.empty(0))
        return out

    def prompts_between(self, start: int, end: int) -> list[Prompt]:
        return self.stream.between(start, end)

    def make_trajectory(self, prompt: Prompt, text: str, origin: str) -> Trajectory:
        tokens = self.policy.tokenizer(text, add_special_tokens=False)["input_ids"] + [self.policy.eos_ids[0]]
        trajectory = Trajectory(prompt.id, torch.tensor(tokens, dtype=torch.long), text, None, origin=origin)
        self.prompt_index.setdefault(prompt.id, prompt)
        return score_trajectory(trajectory, prompt, self.benchmark, self.config.trainer.format_weight)

    def entropies(
        self, trajectories: Sequence[Trajectory], checkpoint: CheckpointRef | None = None
    ) -> list[torch.Tensor]:
        return [stats[1] for stats in self._token_stats(trajectories, checkpoint, with_entropy=True)]

    def log_event(self, event: Mapping[str, Any]) -> None:
        self.run.events.append({"step": self._step, "update": self.updates, **event})

    # ---- the guided step ----------------------------------------------------------------------------------------
    def attach_source(self, source: GuidanceSource) -> None:
        self.source = source
        source.setup(self, dict(self.config.source.options))

    def run_step(self) -> StepStats:
        """One guided optimizer step: the source may act before it and injects into it."""
        started = time.perf_counter()
        if self.source is not None:
            self.source.before_step(self)
        stats = self._grpo_step(guided=True, before_step_s=time.perf_counter() - started)
        if self.source is not None:
            self.source.after_step(stats)
        return stats

    def _grpo_step(self, guided: bool, before_step_s: float = 0.0) -> StepStats:
        """One GRPO step; ``before_step_s`` is the source's time before it (scouts, probes, snapshots, rollbacks)."""
        started = time.perf_counter()
        timer = Timer()
        step = self._step + 1
        prompts = self.stream.batch(step)
        if guided and self.source is not None:
            with timer("select"):
                prompts = self.source.select_prompts(step, prompts)
        encode = step_encoder(self.policy, self.config.task.prompt_template)
        with timer("generate"):
            groups = generate(self.policy, prompts, self.config, encode=encode)
        with timer("verify"):
            groups = verify_groups(groups, self.benchmark, self.config.trainer.format_weight)
        with timer("guide"):
            injections = self.source.guide(groups) if guided and self.source is not None else []
            mixed = apply_injections(groups, injections)
        with timer("train"):
            self._set_learning_rate(step)
            advantages = compute_advantages(mixed, self.config)
            rows = training_rows(mixed, advantages, encode)
            update = update_policy(self.policy, self.optimizer, rows, self.config, self.ref_model)
        self._step = step
        self.updates += 1
        phase = step_phase(guided, step, self.trained_through)
        if guided:
            self.trained_through = max(self.trained_through, step)
        source_metrics = self.source.metrics() if guided and self.source is not None else {}
        metrics = {
            **rollout_metrics(groups, injections, mixed, self.config.rollout.max_new_tokens),
            **update,
            **source_metrics,
            "train/updates": float(self.updates),
            "data/epoch": self.stream.epoch(step),
            "policy/lr": self.optimizer.param_groups[0]["lr"],
            **{f"time/{name}_s": seconds for name, seconds in timer.seconds.items()},
            "time/step_s": time.perf_counter() - started,
            "time/before_step_s": before_step_s,  # the source's controller work (and any scout steps) before the step
        }
        record = {"step": step, "phase": "train" if guided else "scout", **metrics}
        self.run.metrics.append(record)
        if self.on_step is not None:
            self.on_step(step, metrics, phase)
        return StepStats(step=step, metrics=metrics, groups=tuple(groups))

    # ---- helpers ------------------------------------------------------------------------------------------------
    def _set_learning_rate(self, step: int) -> None:
        t = self.config.trainer
        lr = t.lr * LR_SCHEDULES[t.lr_schedule](step - 1, t.steps, t.lr_min_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    @contextlib.contextmanager
    def weights_of(self, checkpoint: CheckpointRef | None) -> Iterator[None]:
        """Temporarily load a checkpoint's weights (the current ones are stashed on CPU and put back)."""
        if checkpoint is None:
            yield
            return
        model = self.policy.model
        stash = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        checkpoints.load_weights_into(model, checkpoints.load_weights(checkpoint), checkpoint.path)
        try:
            yield
        finally:
            model.load_state_dict(stash)

    def _prompt(self, prompt_id: str) -> Prompt:
        try:
            return self.prompt_index[prompt_id]
        except KeyError:
            raise UserError(f"trajectory refers to unknown prompt {prompt_id!r}") from None

    def _with_n(self, n: int) -> RunConfig:
        if n == self.config.rollout.n:
            return self.config
        config = copy.copy(self.config)
        config.rollout = copy.copy(self.config.rollout)
        config.rollout.n = n
        return config

    def describe(self) -> dict[str, Any]:
        return {"params": sum(p.numel() for p in self.policy.model.parameters()), "config": to_dict(self.config)}
