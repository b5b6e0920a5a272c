"""One training job of a comparison, the same function in every executor (in-process, a worker process, a Ray task).

A job never raises for a failing run: it returns an :class:`Outcome` with the error, so one failure does not stop the
others. Ctrl-C (KeyboardInterrupt) does propagate; the run keeps its checkpoints and resumes on the next compare.
The seconds spent are added to ``RUN/compare-wall.json`` (also when interrupted), for the wall-clock column.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Job:
    label: str
    config: dict[str, Any]  # the resolved config to start with (ignored on resume: the run's own config is used)
    path: str
    resume: bool
    threads: int | None = None  # torch threads when the config leaves them unset (a Ray task's CPUs)


@dataclass(frozen=True)
class Outcome:
    label: str
    path: str
    ok: bool
    error: str | None
    wall_s: float


class _Silent:
    """Stands in for a run's own progress bar: the comparison draws one display over all runs."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, step: int, metrics: dict[str, float]) -> None:
        return None

    def update_eval(self, step: int, accuracy: float) -> None:
        return None


def train_job(job: Job) -> Outcome:
    from npo_bench.compare.results import add_wall

    started = time.perf_counter()
    path = Path(job.path)
    try:
        _train(job, path)
    except Exception as exc:  # noqa: BLE001 - a failing run is reported, the others go on
        return Outcome(job.label, job.path, False, f"{type(exc).__name__}: {exc}", time.perf_counter() - started)
    finally:
        if (path / "config.yaml").exists():
            add_wall(path, time.perf_counter() - started)
    return Outcome(job.label, job.path, True, None, time.perf_counter() - started)


def _train(job: Job, path: Path) -> None:
    import torch

    from npo_bench.config import from_dict, to_dict
    from npo_bench.runs import RunDir
    from npo_bench.trainer.loop import Run

    if job.resume:
        run = RunDir.open(path)
        config = from_dict(run.resolved_config(), where=str(path / "config.yaml"))
    else:
        config = from_dict(job.config, where=f"{job.label} config")
        run = RunDir.create(path, to_dict(config), {"compare": job.label}, config.seed)
    if job.threads and not config.model.threads:
        torch.set_num_threads(job.threads)
    log_file = path / "compare.log"

    def log(line: str) -> None:
        with log_file.open("a") as handle:
            handle.write(line + "\n")

    runner = Run(config, run, log=log, show_progress=False)
    runner.progress = _Silent()  # type: ignore[assignment]
    runner.execute(resume=job.resume)
