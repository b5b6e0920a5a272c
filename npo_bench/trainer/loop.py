"""A whole run: base checkpoint → evaluate the base → guided GRPO steps (periodic eval and checkpoints) → final eval.

Crash-safe: metrics are flushed every step, checkpoints are atomic, and ``resume`` continues from the newest
checkpoint with the logs truncated to what that checkpoint had seen, so a resumed run is identical to an
uninterrupted one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from npo_bench.config import RunConfig, to_dict
from npo_bench.evaluate import EvalResult, evaluate
from npo_bench.guarded import guard_source
from npo_bench.host import get_host
from npo_bench.progress import RunProgress
from npo_bench.runs import RunDir, atomic_write_json
from npo_bench.trainer import checkpoints
from npo_bench.trainer.resume import finished_scores, resume_from, writing
from npo_bench.trainer.warmup import base_model_dir
from npo_bench.types import RunEnd, RunStart, StepEnd, StepPhase

Log = Callable[[str], None]


def default_run_name(config: RunConfig) -> str:
    return f"{config.preset}-{config.source.name}-seed{config.seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def create_run(config: RunConfig, passed: dict[str, Any]) -> RunDir:
    """Create (exclusively) and lock the run directory; a derived name gets a suffix if it is taken."""
    derived = config.name is None
    config.name = config.name or default_run_name(config)
    run = RunDir.create(
        Path(config.runs_dir) / config.name, to_dict(config), passed, config.seed, suffix_on_collision=derived
    )
    config.name = run.path.name
    return run


class Run:
    """Drives one run directory to completion."""

    def __init__(self, config: RunConfig, run: RunDir, log: Log = print, show_progress: bool | None = None):
        self.config = config
        self.run = run
        self.log = log
        self.host = get_host()
        self.progress = RunProgress(config.trainer.steps, enabled=show_progress)
        self.test_prompts: list[Any] = []

    def execute(self, resume: bool = False) -> dict[str, float]:
        """Run to the end (or continue from the newest checkpoint), holding the run's lock throughout."""
        with writing(self.run, resume):
            return self._execute(resume)

    def _execute(self, resume: bool) -> dict[str, float]:
        config = self.config
        base = base_model_dir(config, self.log)
        backend_cls = self.host.get("backend", config.backend).load()
        self.backend = backend_cls(config, self.run, base, on_step=self._on_step)
        source = self.host.get("source", config.source.name)
        self.backend.attach_source(guard_source(source.load()(), source))
        benchmark = self.backend.benchmark
        self.test_prompts = benchmark.load(
            config.task.test_split, config.eval.size or config.task.test_size, config.task.seed
        )
        ref = resume_from(self.backend, self.run, self.log) if resume else None
        if ref is not None:
            self.log(f"resumed {self.run.path} from {ref.tag} (step {ref.step})")
            finished = finished_scores(self.run, config.trainer.steps, self.backend.step)
            if finished is not None:
                self.log(f"{self.run.path} is already finished (step {self.backend.step}): nothing to do")
                return finished
        self._log_warnings(
            self.host.hooks.on_run_start(RunStart(self.run.path, to_dict(config), self.backend.step, ref is not None))
        )
        final: dict[str, float] = {}
        try:
            with self.progress:
                if ref is None:
                    self.run.metrics.truncate(0)
                    self._evaluate(step=0)
                    self.backend.save("step-000000")
                while self.backend.step < config.trainer.steps:
                    self.backend.run_step()
                    self._after_step(self.backend.step)
                final = self._final_evaluation()
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            self._log_warnings(self.host.hooks.on_run_end(RunEnd(self.run.path, {}, error=error)))
            raise
        self.run.update_meta(ended=time.strftime("%Y-%m-%dT%H:%M:%S%z"), final_step=self.backend.step)
        self._log_warnings(self.host.hooks.on_run_end(RunEnd(self.run.path, final)))
        return final

    def _on_step(self, step: int, metrics: dict[str, float], phase: StepPhase = "train") -> None:
        self.progress.update(step, metrics)
        self._log_warnings(self.host.hooks.on_step_end(StepEnd(self.run.path, step, metrics, phase)))

    def _after_step(self, step: int) -> None:
        t = self.config.trainer
        if t.eval_every and step % t.eval_every == 0 and step < t.steps:
            self._evaluate(step)
        if step % t.save_every == 0 and step < t.steps:
            self.backend.save(f"step-{step:06d}")
            checkpoints.prune_checkpoints(self.run.checkpoints, t.keep_checkpoints, protect={"step-000000"})

    def _evaluate(self, step: int) -> EvalResult:
        result = evaluate(
            self.backend.policy,
            self.backend.benchmark,
            self.test_prompts,
            self.config.eval,
            self.config.task.prompt_template,
        )
        scores = {f"eval/{key}": value for key, value in result.scores.items()}
        self.run.metrics.append({"step": step, "phase": "eval", **scores})
        self.progress.update_eval(step, result.scores.get("accuracy", 0.0))
        return result

    def _final_evaluation(self) -> dict[str, float]:
        step = self.backend.step
        result = self._evaluate(step)
        atomic_write_json(self.run.eval_dir / f"{result.benchmark}.json", {"step": step, **result.to_json()})
        self.backend.save(f"step-{step:06d}")
        base_accuracy = next(
            (r["eval/accuracy"] for r in self.run.metrics.read() if r.get("phase") == "eval" and r["step"] == 0), None
        )
        final = {f"eval/{k}": v for k, v in result.scores.items()}
        if base_accuracy is not None:
            final["eval/accuracy_gain"] = final["eval/accuracy"] - base_accuracy
        return final

    def _log_warnings(self, warnings: list[str]) -> None:
        """An observer that raised is named and the run goes on."""
        for warning in warnings:
            self.log(f"warning: {warning}")
