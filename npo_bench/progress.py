"""Progress display for long work: a rich progress bar on a terminal, a line every few steps otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class RunProgress:
    """``with RunProgress(total): progress.update(step, metrics)``."""

    def __init__(self, total: int, enabled: bool | None = None, every: int = 10, label: str = "train"):
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.every = every
        self.label = label
        self.last_eval: float | None = None
        self._progress: Progress | None = None
        self._task: Any = None
        self._started = time.perf_counter()

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=self.total, status="")
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)  # type: ignore[arg-type]
            self._progress = None

    def _status(self, metrics: dict[str, float]) -> str:
        parts = [f"reward {metrics['reward/mean']:.3f}"] if "reward/mean" in metrics else []
        if "policy/entropy" in metrics:
            parts.append(f"entropy {metrics['policy/entropy']:.3f}")
        if self.last_eval is not None:
            parts.append(f"eval acc {self.last_eval:.3f}")
        if metrics.get("guidance/injected_frac"):
            parts.append(f"injected {metrics['guidance/injected_frac']:.3f}")
        return " · ".join(parts)

    def update(self, step: int, metrics: dict[str, float]) -> None:
        status = self._status(metrics)
        if self._progress is not None:
            self._progress.update(self._task, completed=min(step, self.total), status=status)
        elif step % self.every == 0 or step == self.total:
            elapsed = time.perf_counter() - self._started
            line = " · ".join(
                part for part in (f"[{self.label}] {step}/{self.total}", status, f"{elapsed:.0f}s") if part
            )
            print(line, file=sys.stderr, flush=True)

    def update_eval(self, step: int, accuracy: float) -> None:
        self.last_eval = accuracy
        if self._progress is None:
            print(f"[eval] step {step}: held-out accuracy {accuracy:.3f}", file=sys.stderr, flush=True)
