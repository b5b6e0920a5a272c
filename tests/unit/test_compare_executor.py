"""``--jobs J``: a Ctrl-C (or a run that fails) stops the comparison; runs still queued never start."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from npo_bench.compare.executors import LocalExecutor


def slow_job(marker: str) -> str:
    """Stand-in for ``train_job`` (module level: the spawned workers import it by name)."""
    Path(marker).write_text("started")
    time.sleep(1.0)
    return marker


@pytest.mark.slow
def test_an_interrupt_cancels_the_queued_runs(tmp_path):
    markers = [str(tmp_path / f"job{i}") for i in range(8)]

    def interrupt(outcome: str) -> None:
        raise KeyboardInterrupt

    started = time.perf_counter()
    starts: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(jobs=2, work=slow_job).run(markers, on_start=starts.append, on_done=interrupt)
    assert starts == markers[:2]  # on_start is called when a worker takes the run, not when it is queued
    ran = sum(Path(m).exists() for m in markers)
    assert ran == 2  # the two that were running; none of the six queued ones started
    assert time.perf_counter() - started < 8.0
