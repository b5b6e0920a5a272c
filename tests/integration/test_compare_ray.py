"""``--executor ray`` (slow; skipped without the optional extra ``ray``): a run as a Ray task on a local cluster gives
the same numbers as the same run trained in-process, and lands in its own planned directory."""

from __future__ import annotations

import json

import pytest

from npo_bench.cli import main
from npo_bench.testing import logged_metrics

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def test_ray_executor_reproduces_the_local_run(micro_base, tmp_path, capsys):
    argv = ["compare", "grpo", "--seeds", "1", "--preset", "micro", "--set", "model.threads=1"]
    for executor in ("local", "ray"):
        extra = ["--executor", executor, "--set", f"runs_dir={tmp_path / executor}", "--out", str(tmp_path / executor)]
        assert main([*argv, *extra]) == 0, capsys.readouterr().err
    assert not ray.is_initialized()  # the local cluster started for the comparison is shut down
    (local,) = [p for p in (tmp_path / "local").iterdir() if p.name.startswith("grpo-seed0-")]
    remote = tmp_path / "ray" / local.name  # the same config → the same planned name, in its own runs_dir
    assert logged_metrics(remote) == logged_metrics(local)
    local_eval, remote_eval = (json.loads((p / "eval" / "synthetic.json").read_text()) for p in (local, remote))
    assert remote_eval["scores"] == local_eval["scores"]
    assert [i["response"] for i in remote_eval["items"]] == [i["response"] for i in local_eval["items"]]
