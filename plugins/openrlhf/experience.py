"""``GuidedExperienceMaker``: OpenRLHF's ``RemoteExperienceMaker`` with npo-bench's group surgery and advantages.

``make_experience_batch`` keeps the stock order — split into micro-batches → ``make_experience`` (actor /
reference forwards) → ``compute_advantages_and_returns`` — and adds one phase in front of it:

1. each block of n consecutive rollouts (``rollout_samples[g*n + j]`` is slot j of prompt g, OpenRLHF's grouping
   invariant) becomes a verified group; the source's injections are applied by the core's group surgery (replace a
   slot, or append: RLEP's groups then have n + M rows);
2. every row — rollout or injected — carries the same fields: its group id and loss-mode code in ``info``, and
   ``rollout_log_probs`` (the guide's behaviour log-probs, zeros where a row has none), because the replay buffer's
   merge silently drops a field that the first row lacks;
3. advantages are computed per group id with the embedded backend's estimator (a uniform group gets exactly 0,
   where OpenRLHF's ``group_norm`` gives ±0.9 from rounding residue; an appended group gets its own baseline,
   where OpenRLHF reshapes to a fixed n).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from openrlhf.trainer.ppo_utils.experience import Experience
from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker
from openrlhf.trainer.ppo_utils.length_penalty import apply_length_penalties

from npo_bench.errors import UserError
from npo_bench.grpo.advantages import group_advantages
from npo_bench.types import Group, Injection, Prompt, Trajectory
from npo_bench_plugins.openrlhf import adapter

Guidance = Callable[[Sequence[Group]], Sequence[Injection]]


@dataclass
class GuidedBatch:
    """What the last ``make_experience_batch`` saw and trained on (the trainer reads it for metrics and stats)."""

    groups: list[Group] = field(default_factory=list)  # on-policy, verified, before surgery
    injections: list[Injection] = field(default_factory=list)  # what the source asked for
    guided: list[adapter.GuidedGroup] = field(default_factory=list)
    advantages: list[torch.Tensor] = field(default_factory=list)  # per group, (n,) or (n+M,)


def response_of(row: Experience) -> tuple[torch.Tensor, int]:
    """(response token ids (L,), prompt length P) of a one-row Experience; ``action_mask`` is shifted by one
    (position i marks token i + 1), as ``_process_response_into_experience`` builds it."""
    marks = row.action_mask[0].bool()
    positions = torch.nonzero(marks).flatten()
    if positions.numel() == 0:
        return row.sequences[0, :0], int(row.sequences.shape[1])
    start = int(positions[0]) + 1
    return row.sequences[0, 1:][marks], start


class GuidedExperienceMaker(RemoteExperienceMaker):
    """The stock maker plus group surgery before advantages and npo-bench's group advantages."""

    def __init__(
        self,
        *args,
        prompts: Mapping[str, Prompt],
        estimator: str = "mean_std",
        adv_eps: float = 1e-6,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.prompts = prompts
        self.estimator = estimator
        self.adv_eps = adv_eps
        self.guidance: Guidance | None = None  # set by the trainer for a guided step, None for plain/scout steps
        self.last = GuidedBatch()

    # ---- the stock pipeline, with surgery in front ------------------------------------------------------------------
    @torch.no_grad()
    def make_experience_batch(self, rollout_samples: list[Experience]) -> list[Experience]:
        rows = self.guided_rows(rollout_samples)
        samples_list = self.split_rollout_samples(rows)
        experiences = self.make_experience(samples_list)
        return self.compute_advantages_and_returns(experiences)

    def guided_rows(self, rollout_samples: Sequence[Experience]) -> list[Experience]:
        """Group surgery on the rollouts: one Experience row per member of every guided group, in group order."""
        n = int(self.args.rollout.n_samples_per_prompt)
        if len(rollout_samples) % n:
            raise ValueError(f"{len(rollout_samples)} rollouts are not whole groups of n = {n}")
        blocks = [list(rollout_samples[i : i + n]) for i in range(0, len(rollout_samples), n)]
        groups = [self._group_of(block) for block in blocks]
        injections = list(self.guidance(groups)) if self.guidance is not None else []
        guided = adapter.guide(groups, injections)
        rows: list[Experience] = []
        for index, (block, group) in enumerate(zip(blocks, guided, strict=True)):
            by_trajectory = {id(t): row for t, row in zip(groups[index].trajectories, block, strict=True)}
            for member in group.members:
                row = by_trajectory.get(id(member.trajectory))
                row = (
                    self._stamped(row, member, index)
                    if row is not None
                    else self._injected_row(block[0], member, index)
                )
                rows.append(row)
        self.last = GuidedBatch(groups, injections, guided, [])
        return rows

    @torch.no_grad()
    def compute_advantages_and_returns(self, experiences: list[Experience]) -> list[Experience]:
        """Advantages per group id with the embedded estimator, broadcast over each row's action tokens."""
        for experience in experiences:
            experience.rewards = experience.rewards.float()
        apply_length_penalties(experiences, self.args)  # the stock shaping (off unless its flags are set)
        members: dict[int, list[tuple[int, int, int]]] = {}  # group -> [(original index, experience, row)]
        for e, experience in enumerate(experiences):
            groups = experience.info["npo_group"].tolist()
            for r, (group, original) in enumerate(zip(groups, experience.index, strict=True)):
                members.setdefault(int(group), []).append((original, e, r))
        order = sorted(members)
        rewards = []
        for group in order:
            members[group].sort()
            rewards.append(torch.stack([experiences[e].rewards[r] for _, e, r in members[group]]))
        advantages = group_advantages(rewards, self.estimator, self.adv_eps)
        per_row = [torch.zeros(len(experience.rewards)) for experience in experiences]
        for group, adv in zip(order, advantages, strict=True):
            for (_, e, r), value in zip(members[group], adv, strict=True):
                per_row[e][r] = value
        for experience, adv in zip(experiences, per_row, strict=True):
            tokens = adv.unsqueeze(-1) * experience.action_mask.float()  # (B, A): the scalar on every action token
            experience.advantages = tokens
            experience.returns = tokens.clone()
            experience.info["return"] = adv
            experience.kl = None
        self.last.advantages = advantages
        return experiences

    # ---- rows ---------------------------------------------------------------------------------------------------
    def _group_of(self, block: Sequence[Experience]) -> Group:
        labels = {row.labels[0] for row in block}
        if len(labels) != 1:
            raise ValueError(f"a block of n rollouts mixes prompts {sorted(labels)}: OpenRLHF's grouping broke")
        (label,) = labels
        prompt = self.prompts.get(label)
        if prompt is None:
            raise UserError(f"rollout label {label!r} is not a prompt id of this run's exported dataset")
        return adapter.make_group(prompt, [self._trajectory(row, prompt) for row in block])

    @staticmethod
    def _response_ids(row: Experience) -> list[int]:
        return response_of(row)[0].tolist()

    def _trajectory(self, row: Experience, prompt: Prompt) -> Trajectory:
        response, _ = response_of(row)
        text = self.tokenizer.decode(response.tolist(), skip_special_tokens=True)
        reward = float(row.rewards[0]) if row.rewards is not None else 0.0
        correct = bool(float(row.info["correct"][0]) > 0) if "correct" in row.info else reward > 0
        return adapter.rollout_trajectory(prompt, response, text, reward, correct)

    def _stamped(self, row: Experience, member: adapter.Member, group: int) -> Experience:
        row.info["npo_group"] = torch.tensor([group])
        row.info["npo_loss_mode"] = torch.tensor([adapter.LOSS_MODE_CODES[member.loss_mode]])
        row.info["npo_injected"] = torch.tensor([0.0])
        row.info["correct"] = torch.tensor([float(bool(member.trajectory.correct))])
        row.info.setdefault("reward", torch.tensor([float(member.trajectory.reward or 0.0)]))
        row.info.setdefault("score", row.info["reward"].clone())
        if row.rollout_log_probs is None:
            row.rollout_log_probs = torch.zeros(row.action_mask.shape, dtype=torch.float32)
        return row

    def _injected_row(self, sibling: Experience, member: adapter.Member, group: int) -> Experience:
        """A guide's row: the sibling's prompt tokens (and images, labels, multimodal inputs) + the guide's response."""
        _, prompt_len = response_of(sibling)
        response = member.trajectory.response_ids.long()
        sequences = torch.cat([sibling.sequences[0, :prompt_len], response]).unsqueeze(0)  # (1, P + L)
        total = sequences.shape[1]
        action_mask = torch.zeros(1, total - 1, dtype=sibling.action_mask.dtype)
        action_mask[0, prompt_len - 1 :] = 1  # shifted by one: position i marks token i + 1
        behaviour = torch.zeros(1, total - 1, dtype=torch.float32)
        if member.behaviour_logprobs is not None:
            behaviour[0, prompt_len - 1 :] = member.behaviour_logprobs.float()
        reward = float(member.trajectory.reward or 0.0)
        info = {
            "response_clip_ratio": torch.tensor([False]),
            "reward": torch.tensor([reward]),
            "score": torch.tensor([reward]),
            "correct": torch.tensor([float(bool(member.trajectory.correct))]),
            "npo_group": torch.tensor([group]),
            "npo_loss_mode": torch.tensor([adapter.LOSS_MODE_CODES[member.loss_mode]]),
            "npo_injected": torch.tensor([1.0]),
        }
        for key, value in sibling.info.items():  # every row carries the same info keys (the merge needs it)
            info.setdefault(key, torch.zeros_like(value))
        return Experience(
            sequences=sequences,
            attention_mask=torch.ones(1, total, dtype=sibling.attention_mask.dtype),
            action_mask=action_mask,
            rollout_log_probs=behaviour,
            prompts=list(sibling.prompts),
            labels=list(sibling.labels),
            images=list(sibling.images),
            mm_train_inputs=list(sibling.mm_train_inputs),
            rewards=torch.tensor([reward]),
            scores=torch.tensor([reward]),
            response_length=torch.tensor([response.shape[0]]),
            truncated=torch.tensor([False]),
            total_length=torch.tensor([float(total)]),
            info=info,
        )
