"""``OpenRLHFControl``: the ``TrainerControl`` a guidance source drives, over OpenRLHF's Ray actor groups.

It lives inside the single-controller ``GuidedPPOTrainer`` actor. Weights, optimizer and LR scheduler live on the
DeepSpeed ranks (``GuidedPolicyModelActor``); rollouts come from the vLLM engines; the data order is npo-bench's
``PromptStream`` (step-indexed, so the data cursor is the step and the same seed gives the same prompts on both
backends); source state, RNG and log line counts are the controller's.

- ``save(tag)``: every rank writes its DeepSpeed shard under ``checkpoints/<tag>/deepspeed/<tag>`` (never rotated)
  and rank 0 a loadable HF model in ``checkpoints/<tag>``; the controller adds ``trainer_state.pt`` (the embedded
  backend's format and manifest, :func:`npo_bench.trainer.checkpoints.write_checkpoint`) and points ``latest.json``
  at it, so ``compare``/``analyze``/``eval`` read both backends alike.
- ``restore(ref)``: every rank loads the tag, the weights are pushed to the engines, the step (= data cursor) and the
  controller RNG come back; the source keeps its memory.
- ``backend_options.check_restores``: every save records a fingerprint — a SHA-256 of the actor's full weights and the
  engines' greedy responses to a few fixed training prompts — and every restore compares: the weights after the
  restore must be bit-identical to the anchor's (else the run stops), and the engines must answer the fixed prompts
  as they did at the anchor (they sample with the restored weights); a ``restore_check`` event records both, and
  whether the scout had moved them. Costs one gathered hash and one small greedy batch per save and restore.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import ray
import torch

from npo_bench.host import get_host
from npo_bench.trainer import checkpoints
from npo_bench.trainer.resume import restore_bookkeeping
from npo_bench.types import CheckpointRef, Prompt, StepEnd, Trajectory
from npo_bench_plugins.openrlhf import adapter
from npo_bench_plugins.openrlhf.backend import remote_cause

# OpenRLHF's status keys → npo-bench's metric names (docs/metrics.md)
STATUS_METRICS = {
    "policy_loss": "policy/loss",
    "entropy_loss": "policy/entropy",
    "ppo_clip_ratio": "policy/clip_frac",
    "ppo_kl": "policy/approx_kl",
    "kl": "policy/kl_to_ref",
    "actor_grad_norm": "policy/grad_norm",
    "actor_lr": "policy/lr",
}
# what trainer_state.pt must hold here (the optimizer lives in the DeepSpeed shards, not in the trainer state)
STATE_KEYS = ("step", "rng", "source", "metrics_lines", "events_lines")


class OpenRLHFControl:
    """TrainerControl over a ``GuidedPPOTrainer`` (``trainer``): its actor group, engines, maker and run directory."""

    def __init__(self, trainer: Any):
        self.trainer = trainer
        self.job = trainer.job
        self.config = self.job.config
        self.run = trainer.run
        self.source = None
        self._step = 0
        self.updates = 0
        self.trained_through = 0  # the highest step trained as a guided step: one at or below it is a replay
        self.check_restores = bool(self.job.options["check_restores"])

    # ---- TrainerControl ---------------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        return self._step

    def save(self, tag: str) -> CheckpointRef:
        state = self._trainer_state()
        if self.check_restores:
            state["fingerprint"] = self.fingerprint()

        def write_deepspeed(staging: Path) -> None:  # every rank writes its shard (a shared file system on a cluster)
            self._on_actors(
                "save_tagged", folder=str(staging / "deepspeed"), tag=tag, client_states={"step": self._step}
            )

        return checkpoints.write_checkpoint(self.run.checkpoints, tag, state, write_deepspeed)

    def restore(self, ref: CheckpointRef) -> None:
        self._restore(ref)

    def resume(self, ref: CheckpointRef) -> None:
        restore_bookkeeping(self, self._restore(ref))

    def _restore(self, ref: CheckpointRef) -> dict[str, Any]:
        """:meth:`restore`, returning the trainer state it read (read once, weights-only)."""
        state = checkpoints.load_trainer_state(ref, STATE_KEYS)
        ahead = self.fingerprint() if self.check_restores and "fingerprint" in state else None
        try:
            self._on_actors("load_tagged", folder=str(ref.path / "deepspeed"), tag=ref.tag)
        except Exception as exc:  # a torn or crafted shard (refused weights-only): resume tries the next checkpoint
            lines = str(remote_cause(exc)).strip().splitlines() or [type(exc).__name__]
            raise checkpoints.CorruptCheckpoint(
                f"checkpoint {ref.path}: its DeepSpeed state cannot be loaded ({lines[-1][:300]})"
            ) from None
        self.trainer.push_weights_to_engines()
        checkpoints.restore_rng(state["rng"])
        self._step = int(state["step"])
        if ahead is not None:
            self._check_restore(ref, state, ahead)
        return state

    def train(self, steps: int) -> None:
        for _ in range(steps):
            self.run_step(guided=False)

    def sample(
        self, prompts: Sequence[Prompt], n: int, checkpoint: CheckpointRef | None = None
    ) -> list[list[Trajectory]]:
        origin = f"guide@{checkpoint.tag}" if checkpoint is not None else "policy"
        with self.weights_of(checkpoint):
            rows = self.trainer.generate(prompts, n)
        groups = [rows[i : i + n] for i in range(0, len(rows), n)]
        out = []
        for prompt, block in zip(prompts, groups, strict=True):
            trajectories = [self.trainer.experience_maker._trajectory(row, prompt) for row in block]
            logprobs = self._token_stats(trajectories, with_entropy=False)
            out.append(
                [adapter.with_logprobs(t, lp, origin) for t, (lp, _) in zip(trajectories, logprobs, strict=True)]
            )
        return out

    def logprobs(
        self, trajectories: Sequence[Trajectory], checkpoint: CheckpointRef | None = None
    ) -> list[torch.Tensor]:
        with self.weights_of(checkpoint):
            return [lp for lp, _ in self._token_stats(trajectories, with_entropy=False)]

    def entropies(
        self, trajectories: Sequence[Trajectory], checkpoint: CheckpointRef | None = None
    ) -> list[torch.Tensor]:
        with self.weights_of(checkpoint):
            return [ent for _, ent in self._token_stats(trajectories, with_entropy=True)]

    def prompts_between(self, start: int, end: int) -> list[Prompt]:
        return self.trainer.stream.between(start, end)

    def make_trajectory(self, prompt: Prompt, text: str, origin: str) -> Trajectory:
        tokenizer = self.trainer.text_tokenizer
        tokens = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        self.job.prompt_index.setdefault(prompt.id, prompt)
        return adapter.verify(
            adapter.external_trajectory(prompt, tokens, text, origin),
            prompt,
            self.job.benchmark,
            self.config.trainer.format_weight,
        )

    def log_event(self, event: Mapping[str, Any]) -> None:
        self.run.events.append({"step": self._step, "update": self.updates, **event})

    def notify(self, hook: str, event: Any) -> None:
        """An observer hook through the plugin manager, as the embedded loop calls it; one that raises is named on
        stderr and the run goes on."""
        for warning in getattr(get_host().hooks, hook)(event):
            print(f"warning: {warning}", file=sys.stderr)

    # ---- the guided step ----------------------------------------------------------------------------------------
    def attach_source(self, source: Any) -> None:
        self.source = source
        source.setup(self, dict(self.config.source.options))

    def run_step(self, guided: bool = True) -> Any:
        started = time.perf_counter()
        if guided and self.source is not None:
            self.source.before_step(self)
        before = time.perf_counter() - started
        step = self._step + 1
        prompts = self.trainer.stream.batch(step)
        if guided and self.source is not None:
            prompts = self.source.select_prompts(step, prompts)
        status, batch = self.trainer.guided_train_step(
            prompts, self.source.guide if guided and self.source is not None else None, step
        )
        self._step, self.updates = step, self.updates + 1
        phase = adapter.phase_of(guided, step, self.trained_through)
        if guided:
            self.trained_through = max(self.trained_through, step)
        metrics = {
            **adapter.step_metrics(batch.groups, batch.injections, batch.guided, self.config.rollout.max_new_tokens),
            **{ours: float(status[theirs]) for theirs, ours in STATUS_METRICS.items() if theirs in status},
            **(self.source.metrics() if guided and self.source is not None else {}),
            "train/updates": float(self.updates),
            "data/epoch": self.trainer.stream.epoch(step),
            **{f"time/{k.split('/', 1)[1]}_s": float(v) for k, v in status.items() if k.startswith("timing/")},
            "time/step_s": time.perf_counter() - started,
            "time/before_step_s": before,
        }
        self.run.metrics.append({"step": step, "phase": "train" if guided else "scout", **metrics})
        self.notify("on_step_end", StepEnd(self.run.path, step, metrics, phase))
        stats = adapter.step_stats(step, metrics, batch.groups)
        if guided and self.source is not None:
            self.source.after_step(stats)
        return stats

    # ---- restore checks ----------------------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        """The actor's weights hash (every rank takes part: ZeRO-3 gathers), the engines' weights hash where they can
        report one (the CPU run's HF engines), the greedy responses to the fixed probe prompts, and the next batch's
        prompt ids (the data cursor)."""
        digests = self._on_actors("weights_digest")
        probes = self.job.train_prompts[: self.job.options["check_prompts"]]
        rows = self.trainer.generate(probes, 1, temperature=0.0, top_p=1.0, top_k=-1)
        return {
            "weights_sha256": digests[0],
            "engines_sha256": self.trainer.engine_digests(),
            "greedy": [self.trainer.experience_maker._response_ids(row) for row in rows],
            "next_prompts": [p.id for p in self.trainer.stream.batch(self._step + 1)],
        }

    def _check_restore(self, ref: CheckpointRef, state: Mapping[str, Any], ahead: Mapping[str, Any]) -> None:
        anchor, now = state["fingerprint"], self.fingerprint()
        check = {
            "event": "restore_check",
            "tag": ref.tag,
            "anchor_step": int(state["step"]),
            "weights_restored": now["weights_sha256"] == anchor["weights_sha256"],
            "weights_moved_by_scout": ahead["weights_sha256"] != anchor["weights_sha256"],
            "greedy_restored": now["greedy"] == anchor["greedy"],
            "greedy_changed_by_scout": ahead["greedy"] != anchor["greedy"],
            "data_cursor_restored": now["next_prompts"] == anchor["next_prompts"],
            "weights_sha256": now["weights_sha256"],
        }
        if now["engines_sha256"]:  # engines that can hash their weights must hold exactly the actor's
            check["engines_hold_actor_weights"] = set(now["engines_sha256"]) == {now["weights_sha256"]}
        self.log_event(check)
        failed = [
            k
            for k in ("weights_restored", "data_cursor_restored", "engines_hold_actor_weights")
            if not check.get(k, True)
        ]
        if failed:
            raise RuntimeError(f"restore of {ref.tag} failed its checks: {', '.join(failed)} (events.jsonl)")

    # ---- helpers ---------------------------------------------------------------------------------------------
    def _trainer_state(self) -> dict[str, Any]:
        return {
            "step": self._step,
            "updates": self.updates,
            "trained_through": self.trained_through,
            "rng": checkpoints.capture_rng(),
            "source": self.source.state_dict() if self.source is not None else {},
            "metrics_lines": self.run.metrics.line_count(),
            "events_lines": self.run.events.line_count(),
            "backend": "openrlhf",
            "data_cursor": self._step,  # PromptStream is step-indexed
        }

    def _on_actors(self, method: str, **kwargs: Any) -> list[Any]:
        return ray.get(self.trainer.actor_model_group.async_run_method(method_name=method, **kwargs))

    @contextlib.contextmanager
    def weights_of(self, checkpoint: CheckpointRef | None) -> Iterator[None]:
        """Temporarily put a checkpoint's weights on the actor ranks and the engines; the current ones come back.
        With ``check_restores``, the loaded weights must hash to the checkpoint's fingerprint and the returned ones to
        what was there before (else the run stops: a log-prob "under a snapshot" would silently be the current one)."""
        if checkpoint is None:
            yield
            return
        before = self._on_actors("weights_digest")[0] if self.check_restores else None
        self._on_actors("stash_weights")
        try:
            self._on_actors("load_hf_weights", folder=str(checkpoint.path))
            self.trainer.push_weights_to_engines()
            has_state = (checkpoint.path / checkpoints.STATE_FILE).is_file()  # a teacher's model folder has none
            if before is not None and has_state:
                saved = checkpoints.load_trainer_state(checkpoint, STATE_KEYS).get("fingerprint")
                if saved is not None and self._on_actors("weights_digest")[0] != saved["weights_sha256"]:
                    raise RuntimeError(f"the weights loaded from {checkpoint.path} do not hash to its fingerprint")
            yield
        finally:
            self._on_actors("load_hf_weights", folder=None)
            self.trainer.push_weights_to_engines()
            if before is not None and self._on_actors("weights_digest")[0] != before:
                raise RuntimeError(f"the weights after viewing {checkpoint.tag} are not the ones before it")

    def _token_stats(self, trajectories: Sequence[Trajectory], with_entropy: bool) -> list[tuple[torch.Tensor, Any]]:
        rows = [self.trainer.encoded_row(self._prompt(t.prompt_id), t.response_ids) for t in trajectories]
        refs = self.trainer.actor_model_group.async_run_method_batch(
            method_name="token_stats",
            sequences=[r.sequences for r in rows],
            action_mask=[r.action_mask for r in rows],
            attention_mask=[r.attention_mask for r in rows],
            mm_train_inputs_list=[r.mm_train_inputs for r in rows],
            with_entropy=[with_entropy] * len(rows),
        )
        duplicates = self.config_duplicates()
        results = self.trainer.experience_maker._flatten_results(refs, duplicates)
        out = []
        for t, row, (logprobs, entropy) in zip(trajectories, rows, results, strict=True):
            marks = row.action_mask[0].bool()
            ent = entropy[0][marks] if entropy is not None else torch.empty(0)
            out.append((logprobs[0][marks][: t.length], ent[: t.length]))
        return out

    def config_duplicates(self) -> int:
        ds = self.trainer.args.ds
        return int(ds.ring_attn_size) * int(ds.tensor_parallel_size)

    def _prompt(self, prompt_id: str) -> Prompt:
        return self.job.prompt_index[prompt_id]
