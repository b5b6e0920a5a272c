"""Where a run continues from, and the guarantees around one writing session of a run directory.

- :func:`writing`: hold the run's lock for the whole session; a *new* run that fails before its first checkpoint
  (a bad model directory found while loading, Ctrl-C during the warm-up, …) is removed, so a failure leaves nothing
  behind and a later ``--resume`` never meets a half-made run.
- :func:`resume_from`: restore the newest intact checkpoint. When ``latest.json`` is missing or corrupt, or the
  checkpoint it names is incomplete or turns out corrupt on loading, the next newest intact one is used and the log
  says so. The logs are truncated only to what the restored checkpoint had seen; what follows is recomputed by the
  (deterministic) replay. With no usable checkpoint, a run whose metrics already hold training steps is refused
  rather than restarted from step 0 over them.
- :func:`finished_scores`: a run whose newest checkpoint is its final one, with the final evaluation logged, is
  finished: resuming it reports that evaluation again instead of appending a duplicate.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from npo_bench.errors import UserError
from npo_bench.runs import RunDir
from npo_bench.trainer.checkpoints import CorruptCheckpoint, resume_candidates
from npo_bench.types import CheckpointRef

Log = Callable[[str], None]


@contextlib.contextmanager
def writing(run: RunDir, resume: bool) -> Iterator[None]:
    """Lock ``run`` for the session; discard a new run that fails before it has any checkpoint."""
    run.lock.acquire()
    try:
        yield
    except BaseException:
        if not resume and run.created and not resume_candidates(run.checkpoints)[0]:
            run.discard()
        raise
    finally:
        run.lock.release()


def resume_from(backend: Any, run: RunDir, log: Log) -> CheckpointRef | None:
    """Restore ``backend`` (and the logs) from the newest usable checkpoint of ``run``; None when there is none."""
    candidates, problem = resume_candidates(run.checkpoints)
    if problem is not None:
        log(f"warning: {run.checkpoints}: {problem}")
    for index, ref in enumerate(candidates):
        try:
            backend.resume(ref)
        except CorruptCheckpoint as exc:
            later = candidates[index + 1].tag if index + 1 < len(candidates) else None
            log(f"warning: {exc.message}; " + (f"trying the next newest, {later}" if later else "no other checkpoint"))
            continue
        if index > 0 or problem is not None:
            log(f"warning: resuming from {ref.tag} (step {ref.step}), the newest intact checkpoint")
        return ref
    trained = [r for r in run.metrics.read_complete() if r.get("phase") in ("train", "scout")]
    if trained:
        raise UserError(
            f"{run.path}: no intact checkpoint to resume from, but metrics.jsonl holds {len(trained)} training "
            "step(s); refusing to restart from step 0 over them",
            hint="move the run's metrics.jsonl away to start it again, or start a new run",
        )
    return None


def finished_scores(run: RunDir, steps: int, step: int) -> dict[str, float] | None:
    """The final scores of a finished run (restored at ``step``), or None when it still has work to do."""
    if step < steps:
        return None
    records = run.metrics.read_complete()
    last = records[-1] if records else None
    if last is None or last.get("phase") != "eval" or last.get("step") != step:
        return None
    scores = {key: float(value) for key, value in last.items() if key.startswith("eval/")}
    base = next((r for r in records if r.get("phase") == "eval" and r.get("step") == 0), None)
    if base is not None and "eval/accuracy" in scores and "eval/accuracy" in base:
        scores["eval/accuracy_gain"] = scores["eval/accuracy"] - float(base["eval/accuracy"])
    return scores


def restore_bookkeeping(control: Any, state: dict[str, Any]) -> None:
    """What a resume restores beyond :meth:`restore` (either backend's control): the update counters, the source's
    memory, and the logs truncated to what the checkpoint had seen."""
    control.updates = int(state.get("updates", state["step"]))
    control.trained_through = int(state.get("trained_through", state["step"]))
    if control.source is not None:
        control.source.load_state_dict(state["source"])
    control.run.metrics.truncate(int(state["metrics_lines"]))
    control.run.events.truncate(int(state["events_lines"]))
