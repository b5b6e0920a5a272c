"""The guided experience maker on OpenRLHF's real Experience rows, micro-batch split and replay-buffer split/merge."""

from __future__ import annotations

import pytest
import torch
from openrlhf.trainer.ppo_utils.experience import (
    Experience,
    make_experience_batch,
    remove_padding_in_sequences,
    split_experience_batch,
)
from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator
from openrlhf.utils.deepspeed import DeepspeedStrategy

from npo_bench.grpo.groups import apply_injections
from npo_bench.presets import resolve
from npo_bench.trainer.step import compute_advantages
from npo_bench.types import Injection, Prompt
from npo_bench_plugins.openrlhf.adapter import LOSS_MODE_CODES
from npo_bench_plugins.openrlhf.experience import GuidedExperienceMaker, response_of
from npo_bench_plugins.openrlhf.loss import row_modes

N = 4
PROMPTS = {f"p{g}": Prompt(f"p{g}", f"question {g}", str(g)) for g in range(3)}


class Tokens:
    pad_token_id = 0

    def decode(self, ids, skip_special_tokens=True):
        return " ".join(map(str, ids))


def rollout(prompt_id: str, prompt_len: int, response: list[int], reward: float) -> Experience:
    """One rollout exactly as OpenRLHF builds it from an engine's response (the real method)."""
    generator = SamplesGenerator.__new__(SamplesGenerator)
    tokens = list(range(100, 100 + prompt_len)) + response
    out = {
        "prompt": f"chat {prompt_id}", "label": prompt_id, "images": None, "mm_train_inputs": None,
        "observation_tokens": tokens, "action_ranges": [(prompt_len, len(tokens))], "rollout_log_probs": None,
        "truncated": False, "reward": reward, "scores": reward, "extra_logs": {"correct": float(reward > 0.5)},
    }  # fmt: skip
    return generator._process_response_into_experience(out, max_len=4096)


def maker(parsed_args, injections=None) -> GuidedExperienceMaker:
    strategy = DeepspeedStrategy(args=parsed_args)
    m = GuidedExperienceMaker(None, None, None, None, None, strategy, Tokens(), prompts=PROMPTS)
    m.guidance = (lambda groups: injections(groups)) if injections else None
    return m


def rollouts(rewards: list[list[float]]) -> list[Experience]:
    return [
        rollout(f"p{g}", 5 + g, [7 + j] * (2 + j), r) for g, group in enumerate(rewards) for j, r in enumerate(group)
    ]


def test_slot_replacement_and_append_keep_every_field_across_micro_batches(parsed_args):
    rewards = [[0.0] * N, [1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]]
    captured = {}

    def injections(groups):
        captured["groups"] = groups
        guide = groups[1].trajectories[0]  # a verified success of prompt p1 stands in for a guide
        from dataclasses import replace

        return [
            Injection(
                group_index=0,
                slot="last",
                trajectory=replace(
                    guide, prompt_id="p0", origin="guide@t+20", loss_mode="importance",
                    logprobs=guide.response_ids.float() * -0.1,
                ),
            ),
            Injection(group_index=2, slot="append", trajectory=replace(groups[2].trajectories[1], origin="replay")),
        ]  # fmt: skip

    m = maker(parsed_args, injections)
    rows = m.guided_rows(rollouts(rewards))
    assert len(rows) == 3 * N + 1  # the append adds a row to group 2
    assert [int(r.info["npo_group"]) for r in rows] == [0] * N + [1] * N + [2] * (N + 1)
    guide_row = rows[N - 1]
    assert int(guide_row.info["npo_loss_mode"]) == LOSS_MODE_CODES["importance"]
    response, prompt_len = response_of(guide_row)
    assert prompt_len == 5 and response.tolist() == [7, 7]  # the sibling's prompt tokens + the guide's response
    assert torch.equal(guide_row.sequences[0, :5], rows[0].sequences[0, :5])
    behaviour = guide_row.rollout_log_probs[0][guide_row.action_mask[0].bool()]
    assert torch.allclose(behaviour, torch.tensor([-0.7, -0.7]))
    # micro-batches of 3 cross group boundaries; every row keeps the same fields
    samples = m.split_rollout_samples(rows)
    assert [len(s.sequences) for s in samples] == [3, 3, 3, 3, 1]
    for s in samples:
        assert s.rollout_log_probs is not None and s.rollout_log_probs.shape == s.action_mask.shape
        assert {"npo_group", "npo_loss_mode", "correct", "reward"} <= set(s.info)
    # advantages: the embedded backend's, over the mixed groups (the append has its own baseline over n + 1)
    for s in samples:
        s.rewards = s.info["reward"].float()
    experiences = m.compute_advantages_and_returns(samples)
    mixed = apply_injections(captured["groups"], injections(captured["groups"]))
    expected = torch.cat(compute_advantages(mixed, resolve("micro")))
    got = torch.cat(
        [e.advantages[torch.arange(len(e.sequences)), e.action_mask.float().argmax(-1)] for e in experiences]
    )
    assert torch.allclose(got, expected, atol=1e-6)
    assert got[N - 1] == pytest.approx(1.5, abs=1e-5) and got[0] == pytest.approx(-0.5, abs=1e-5)  # guide vs siblings
    # replay buffer: split into single rows, drop padding, merge into training micro-batches (its own functions)
    items = []
    for e in experiences:
        e.action_log_probs = torch.zeros_like(e.rollout_log_probs)
        items.extend(remove_padding_in_sequences(split_experience_batch(e)))
    merged = make_experience_batch(items[2:7])  # rows 2..6 span groups 0 and 1 and include the guide
    modes = row_modes(merged.info, merged.rollout_log_probs)
    assert modes.codes.tolist() == [0, LOSS_MODE_CODES["importance"], 0, 0, 0]
    assert torch.allclose(modes.behaviour[1][merged.action_mask[1].bool()], torch.tensor([-0.7, -0.7]))
    assert "npo_loss_mode" not in merged.info  # taken out before OpenRLHF logs info as metrics


@pytest.mark.parametrize(
    "rewards",
    [
        [[0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 1.0], [0.0] * N],  # 0/1 groups and an all-wrong one
        [[0.7] * N, [1.0] * N, [0.0] * N],  # uniform groups (0.7 = 0.9·1 − ... with format weight)
        [[0.9 * 1 + 0.1 * 1, 0.9 * 0 + 0.1 * 1, 0.1 * 0, 1.0], [0.1, 0.1, 1.0, 0.0], [0.9, 1.0, 0.1, 0.0]],
    ],
    ids=["binary", "uniform", "format-0.9/0.1"],
)
def test_advantages_equal_the_embedded_backend(parsed_args, rewards):
    m = maker(parsed_args)
    rows = m.guided_rows(rollouts(rewards))
    samples = m.split_rollout_samples(rows)
    for s in samples:
        s.rewards = s.info["reward"].float()
    experiences = m.compute_advantages_and_returns(samples)
    got = torch.cat([e.info["return"] for e in experiences])
    expected = torch.cat(compute_advantages(apply_injections(m.last.groups, []), resolve("micro")))
    assert torch.allclose(got, expected, atol=1e-6)
    for e in experiences:  # the scalar sits on every action token, nowhere else
        assert torch.equal(e.advantages, e.info["return"].unsqueeze(-1) * e.action_mask.float())
    if rewards[0] == [0.7] * N:
        assert float(got.abs().max()) == 0.0  # OpenRLHF's group_norm would give ±0.9 from rounding residue


def test_openrlhf_group_norm_is_not_zero_on_a_uniform_group():
    """Why the guided maker recomputes advantages: the stock formula on eight rewards of 0.7."""
    rewards = torch.full((1, 8), 0.7)
    stock = (rewards - rewards.mean(-1, keepdim=True)) / (rewards.std(-1, keepdim=True) + 1e-9)
    assert float(stock.abs().max()) > 0.1
