"""One progress display over all runs of a comparison: method/seed, state, step, ETA, and the error of a failed run.

It reads each running run's ``metrics.jsonl`` (the last step logged) on a timer, so it works the same whether the
runs train in this process, in worker processes or as Ray tasks. A rich live table on a terminal; otherwise one line
per state change and a summary line every ``every_s`` seconds.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table


@dataclass
class Line:
    label: str
    path: Path
    total: int
    state: str = "queued"  # queued | running | done | reused | failed
    step: int = 0
    started: float | None = None
    first_step: int = 0  # step when this display started watching (a resumed run starts mid-way)
    error: str | None = None
    ended: float | None = None


def eta_seconds(lines: list[Line], now: float, parallel: int = 1) -> float | None:
    """Remaining steps of unfinished runs × the observed seconds per step, spread over ``parallel`` workers."""
    done_steps, spent = 0, 0.0
    for line in lines:
        if line.started is not None and line.step > line.first_step:
            done_steps += line.step - line.first_step
            spent += (line.ended or now) - line.started
    if done_steps == 0:
        return None
    remaining = sum(max(line.total - line.step, 0) for line in lines if line.state in ("queued", "running"))
    return remaining * spent / done_steps / max(parallel, 1)


def last_step(path: Path) -> int | None:
    file = path / "metrics.jsonl"
    try:
        with file.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 8192))
            tail = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    for text in reversed(tail):
        try:
            return int(json.loads(text)["step"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def resume_step(path: Path) -> int:
    """The step a (re)started run begins at: its newest checkpoint's (``checkpoints/latest.json``), else 0."""
    try:
        return int(json.loads((path / "checkpoints" / "latest.json").read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class CompareDisplay:
    def __init__(self, lines: list[Line], parallel: int = 1, enabled: bool | None = None, every_s: float = 30.0):
        self.lines = {line.label: line for line in lines}
        self.parallel = parallel
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.every_s = every_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Live | None = None
        self._last_summary = time.monotonic()

    # ---- state changes (from the executor's callbacks) ----------------------------------------------------------
    def start_run(self, label: str) -> None:
        with self._lock:
            line = self.lines[label]
            line.state, line.started = "running", time.monotonic()
            line.step = line.first_step = resume_step(line.path)
        self._announce(f"[compare] {label}: started at step {line.step}/{line.total}")

    def finish_run(self, label: str, ok: bool, error: str | None = None) -> None:
        with self._lock:
            line = self.lines[label]
            line.state, line.error, line.ended = ("done" if ok else "failed"), error, time.monotonic()
            line.step = last_step(line.path) or line.step
        self._announce(f"[compare] {label}: {line.state}" + (f": {error}" if error else ""))
        self.refresh()

    # ---- drawing ------------------------------------------------------------------------------------------------
    def table(self) -> Table:
        table = Table(title="npo-bench compare", expand=False)
        for title in ("run", "state", "step", "ETA", "error"):
            table.add_column(title)
        now = time.monotonic()
        for line in self.lines.values():
            eta = eta_seconds([line], now) if line.state == "running" else None
            table.add_row(line.label, line.state, f"{line.step}/{line.total}", _clock(eta), line.error or "")
        table.caption = f"all runs: ETA {_clock(eta_seconds(list(self.lines.values()), now, self.parallel))}"
        return table

    def refresh(self) -> None:
        with self._lock:
            for line in self.lines.values():
                if line.state == "running":
                    line.step = last_step(line.path) or line.step
        if self._live is not None:
            self._live.update(self.table())
        elif time.monotonic() - self._last_summary >= self.every_s:
            self._last_summary = time.monotonic()
            running = [f"{l.label} {l.step}/{l.total}" for l in self.lines.values() if l.state == "running"]
            eta = eta_seconds(list(self.lines.values()), time.monotonic(), self.parallel)
            print(f"[compare] {' · '.join(running) or 'idle'} · ETA {_clock(eta)}", file=sys.stderr, flush=True)

    def _announce(self, text: str) -> None:
        if self._live is None:
            print(text, file=sys.stderr, flush=True)

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self.refresh()

    def __enter__(self) -> CompareDisplay:
        if self.enabled:
            self._live = Live(self.table(), console=Console(stderr=True), refresh_per_second=2)
            self._live.__enter__()
        self._thread = threading.Thread(target=self._loop, name="compare-display", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._live is not None:
            self._live.update(self.table())
            self._live.__exit__(None, None, None)
            self._live = None
