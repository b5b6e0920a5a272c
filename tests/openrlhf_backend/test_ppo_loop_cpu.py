"""OpenRLHF's whole PPO loop on CPU, end to end: micro NPO runs through ``npo-bench run --preset openrlhf-cpu``.

Everything in the loop is OpenRLHF's real code — ``train_ppo_ray.train()``, ``PPOTrainer`` (guided subclass),
``PolicyModelActor`` / ``ActorPPOTrainer`` (guided subclass, stock ``ppo_train``), ``DeepspeedStrategy`` on DeepSpeed's
CPU accelerator, ``SamplesGenerator``, ``Experience`` and ``NaiveReplayBuffer``, ``PolicyLoss``, ``broadcast_to_vllm``
and ``RolloutRayActor.generate_responses`` — on a local Ray. Redirected: CUDA-only device calls (``cpu_shim``), and
the vLLM engine inside the rollout actor (HF ``generate``, ``hf_engine``). Each run writes an ordinary run directory,
which the tests read: metrics, events (with the control's ``restore_check``), checkpoints and their trainer state.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from npo_bench.cli import main
from npo_bench.trainer import checkpoints
from npo_bench.trainer.data import PromptStream
from npo_bench_plugins.openrlhf.job import Job

pytestmark = pytest.mark.slow

COMMON = [
    "rollout.n=4",
    "rollout.prompts_per_step=2",
    "rollout.max_new_tokens=8",
    "task.train_size=4",  # 4 prompts, 2 per step: a guide harvested or probed now is a prompt a later step sees
    "trainer.save_every=100",
    "trainer.eval_every=0",
    "eval.size=2",
    "eval.max_new_tokens=8",
    "source.options.tau_gate=1.0",  # a harvested guide is injected whatever the group's pass rate
]


def run_micro(model: Path, runs: Path, name: str, source_options: list[str], steps: int) -> Path:
    argv = ["run", "--preset", "openrlhf-cpu", "--source", "near_future", "--name", name, "--runs-dir", str(runs)]
    for override in [f"model.path={model}", f"trainer.steps={steps}", *COMMON, *source_options]:
        argv += ["--set", override]
    assert main(argv) == 0
    return runs / name


def rows(run: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (run / name).read_text().splitlines() if line.strip()]


def state(run: Path, tag: str) -> dict:
    return torch.load(run / "checkpoints" / tag / "trainer_state.pt", weights_only=True)  # plain data only


@pytest.fixture(scope="module")
def npo_run(digit_vlm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NPO with one forced late intervention: anchor at step 1, scout Δ = 1, harvest, roll back, guided step 2."""
    options = ["source.options.schedule=[{kind: late, at: 1, delta: 1, segment: 1}]", "source.options.harvest_k=16"]
    return run_micro(digit_vlm, tmp_path_factory.mktemp("runs"), "npo", options, steps=3)


def test_the_loop_trains_scouts_rolls_back_and_replays(npo_run):
    metrics = rows(npo_run, "metrics.jsonl")
    assert [(r["phase"], r["step"]) for r in metrics] == [
        ("eval", 0), ("train", 1), ("scout", 2), ("train", 2), ("train", 3), ("eval", 3),
    ]  # fmt: skip
    steps = [r for r in metrics if r["phase"] != "eval"]
    assert all(math.isfinite(r["policy/loss"]) and math.isfinite(r["policy/entropy"]) for r in steps)
    assert [r["train/updates"] for r in steps] == [1.0, 2.0, 3.0, 4.0]  # the scout's update is not un-spent
    assert any(r["policy/grad_norm"] > 0 for r in steps)  # rewards differ within groups: the actor learns
    assert sum(r["reward/mean"] for r in steps) > 0
    replay = steps[2]
    assert replay["guidance/active"] == 1.0 and replay["guidance/injected_frac"] > 0  # a harvested guide went in


def test_restore_is_bit_identical_and_the_engines_sample_with_the_restored_weights(npo_run):
    events = rows(npo_run, "events.jsonl")
    intervention = next(e for e in events if e["event"] == "intervention")
    assert intervention["rollback"] == {"from": 2, "to": 1} and intervention["cache_size"] > 0
    (check,) = [e for e in events if e["event"] == "restore_check"]
    assert check["tag"] == "npo-anchor-000001" and check["anchor_step"] == 1
    assert check["weights_moved_by_scout"]  # the scout's update changed the weights (SHA-256 of every parameter) …
    assert check["weights_restored"]  # … and the restore brought the anchor's back, bit for bit
    assert check["engines_hold_actor_weights"]  # broadcast_to_vllm pushed them into the rollout engine
    assert check["greedy_restored"]  # the engine answers the fixed prompts as it did at the anchor
    assert check["data_cursor_restored"]


def test_checkpoints_carry_step_data_cursor_and_source_state(npo_run):
    anchor = state(npo_run, "npo-anchor-000001")
    assert anchor["backend"] == "openrlhf" and anchor["step"] == anchor["data_cursor"] == 1
    # saved while the intervention was still planned: a run killed during the scout resumes and scouts again
    assert anchor["source"]["plan"] == [{"kind": "late", "at": 1, "delta": 1, "segment": 1}]
    job = Job(npo_run)
    stream = PromptStream(job.train_prompts, job.config.rollout.prompts_per_step, job.config.seed)
    assert anchor["fingerprint"]["next_prompts"] == [p.id for p in stream.batch(2)]  # the data cursor at the anchor
    final = state(npo_run, "step-000003")
    assert final["step"] == 3 and final["updates"] == 4
    assert final["source"]["plan"] == [] and final["source"]["scout_steps"] == 1
    assert final["metrics_lines"] == len(rows(npo_run, "metrics.jsonl"))  # saved after the final evaluation
    assert (npo_run / "deepspeed").exists() is False  # OpenRLHF's own checkpoints are off; ours carry its shards
    shards = sorted(p.name for p in (npo_run / "checkpoints" / "npo-anchor-000001" / "deepspeed").iterdir())
    assert "npo-anchor-000001" in shards  # DeepSpeed's tag folder, never rotated away
    assert list((npo_run / "eval").glob("*.json"))
    assert checkpoints.check_intact(npo_run / "checkpoints" / "npo-anchor-000001") is None  # manifest lists shards


def test_resuming_a_finished_run_reports_its_final_evaluation_and_starts_nothing(npo_run, capsys):
    before = (npo_run / "metrics.jsonl").read_text()
    assert main(["run", "--resume", str(npo_run)]) == 0
    assert "already finished (step 3)" in capsys.readouterr().err
    assert (npo_run / "metrics.jsonl").read_text() == before  # no duplicate final evaluation


AUTO_STEPS = 8


@pytest.fixture(scope="module")
def auto_run(digit_vlm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AutoNPO with a hair trigger: snapshots every step, a warning at the first step whose entropy is below the
    previous one's (the reward always counts as stagnating), Δ ∈ [1, 2], one rollback at most."""
    options = [
        "source.options.auto=true",
        "source.options.snapshot_every=1",
        "source.options.window=1",
        "source.options.min_improvement=1000000.0",  # the reward always counts as stagnating
        "source.options.cooldown=0",
        "source.options.min_delta=1",
        "source.options.max_delta=2",
        "source.options.pool_threshold=1.0",  # every prompt enters the mistake pool
        "source.options.probe_prompts=4",
        "source.options.probe_k=8",
        "source.options.slice_half_width=8",  # every pool prompt is in every slice
        "source.options.max_interventions=1",
    ]
    return run_micro(digit_vlm, tmp_path_factory.mktemp("runs"), "autonpo", options, steps=AUTO_STEPS)


def test_autonpo_rolls_back_to_a_snapshot_and_replays_with_guides(auto_run):
    events = rows(auto_run, "events.jsonl")
    decision = next(e for e in events if e["event"] == "auto_warning" and e.get("delta_star"))
    t, to = decision["rollback"]["from"], decision["rollback"]["to"]
    assert t - to == decision["delta_star"] and decision["cache_size"] > 0
    assert {row["delta"] for row in decision["candidates"]} <= {1, 2}
    assert all(row["kl"] == row["kl"] for row in decision["candidates"])  # log-probs under each snapshot were taken
    (check,) = [e for e in events if e["event"] == "restore_check"]
    assert check["tag"] == f"npo-snapshot-{to:06d}" and check["weights_restored"] and check["data_cursor_restored"]
    assert check["engines_hold_actor_weights"] and check["greedy_restored"]
    train = [r for r in rows(auto_run, "metrics.jsonl") if r["phase"] == "train"]
    steps = [r["step"] for r in train]
    assert steps[: t + 1] == list(range(1, t + 1)) + [to + 1]  # after t the step counter went back to t − Δ*
    assert steps[-1] == AUTO_STEPS
    replayed = [r for r in train[t:] if r["step"] <= t]
    assert any(r["guidance/injected_frac"] > 0 for r in replayed)
    final = state(auto_run, f"step-{AUTO_STEPS:06d}")
    assert final["source"]["interventions"] == 1 and final["source"]["replayed_steps"] == decision["delta_star"]
