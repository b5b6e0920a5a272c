"""Crash safety and TrainerControl: resume reproduces an uninterrupted run; restore rolls back exactly."""

from __future__ import annotations

import copy

import pytest
import torch

from npo_bench.testing import without_timings
from npo_bench.trainer.backend import EmbeddedBackend
from npo_bench.trainer.checkpoints import capture_rng, latest_checkpoint, load_weights
from npo_bench.trainer.loop import Run, create_run

pytestmark = pytest.mark.slow


def test_resume_after_kill_is_identical_to_straight_run(micro_config, tmp_path, monkeypatch):
    straight_config = copy.deepcopy(micro_config)
    straight_config.name = "straight"
    straight = create_run(straight_config, {})
    Run(straight_config, straight, log=lambda _: None, show_progress=False).execute()

    killed_config = copy.deepcopy(micro_config)
    killed_config.name = "killed"
    killed = create_run(killed_config, {})

    def die_after_step_4(self, step, metrics, phase):  # checkpoints exist at 0 and 3; step 4 is logged, then lost
        if step == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(Run, "_on_step", die_after_step_4)
    with pytest.raises(KeyboardInterrupt):
        Run(killed_config, killed, log=lambda _: None, show_progress=False).execute()
    assert [r["step"] for r in killed.metrics.read() if r["phase"] == "train"] == [1, 2, 3, 4]
    monkeypatch.undo()

    final = Run(killed_config, killed, log=lambda _: None, show_progress=False).execute(resume=True)
    assert without_timings(killed.metrics.read()) == without_timings(straight.metrics.read())
    a = load_weights(latest_checkpoint(straight.checkpoints))
    b = load_weights(latest_checkpoint(killed.checkpoints))
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6
    assert final["eval/accuracy"] == straight.metrics.read()[-1]["eval/accuracy"]


def test_save_train_restore_is_an_exact_rollback(micro_config, micro_base):
    run = create_run(micro_config, {})
    backend = EmbeddedBackend(micro_config, run, micro_base)
    backend.train(1)
    anchor = backend.save("anchor")
    weights = {k: v.clone() for k, v in backend.policy.model.state_dict().items()}
    optimizer_state = copy.deepcopy(backend.optimizer.state_dict()["state"])
    rng = capture_rng()
    next_prompts = [p.id for p in backend.stream.batch(backend.step + 1)]
    metrics_after_anchor = backend._grpo_step(guided=False).metrics
    backend.train(1)
    assert backend.step == 3
    moved = backend.policy.model.state_dict()
    assert any(not torch.equal(moved[k], weights[k]) for k in weights)

    backend.restore(anchor)
    assert backend.step == 1
    assert all(torch.equal(backend.policy.model.state_dict()[k], weights[k]) for k in weights)
    restored_state = backend.optimizer.state_dict()["state"]
    for key, value in optimizer_state.items():
        for name, tensor in value.items():
            assert torch.equal(restored_state[key][name], tensor)
    assert torch.equal(capture_rng()["torch"], rng["torch"])
    assert [p.id for p in backend.prompts_between(1, 2)] == next_prompts
    replayed = backend._grpo_step(guided=False).metrics
    # the update counter is compute-honest: a rollback does not un-spend the scout steps
    assert replayed.pop("train/updates") == metrics_after_anchor.pop("train/updates") + 2
    for key in metrics_after_anchor:
        if not key.startswith("time/"):
            assert replayed[key] == metrics_after_anchor[key], key


def test_sample_and_logprobs_with_a_saved_checkpoint(micro_config, micro_base):
    run = create_run(micro_config, {})
    backend = EmbeddedBackend(micro_config, run, micro_base)
    base = backend.save("base")
    backend.train(2)
    # Two steps move the weights only if some rollout earned a reward, which from the micro base (few solved prompts)
    # depends on the draws; scaling every weight makes "the current policy differs from the saved base" certain.
    with torch.no_grad():
        for parameter in backend.policy.model.parameters():
            parameter.mul_(1.1)
    prompts = backend.prompts_between(0, 1)[:2]
    current = {k: v.clone() for k, v in backend.policy.model.state_dict().items()}
    groups = backend.sample(prompts, 2, checkpoint=base)
    assert all(t.origin == "guide@base" and t.reward is not None for g in groups for t in g)
    trajectories = [t for g in groups for t in g]
    under_base = backend.logprobs(trajectories, checkpoint=base)
    for trajectory, logprobs in zip(trajectories, under_base):
        assert torch.allclose(logprobs, trajectory.logprobs, atol=1e-4)  # sampled by the base: same distribution
    under_current = backend.logprobs(trajectories)
    assert any(not torch.allclose(a, b, atol=1e-4) for a, b in zip(under_base, under_current))
    assert all(torch.equal(backend.policy.model.state_dict()[k], current[k]) for k in current)  # weights put back
