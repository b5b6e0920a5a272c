"""``GuidedPPOTrainer``: OpenRLHF's single-controller ``PPOTrainer`` driven by npo-bench's step loop.

The stock ``train_ppo_ray.train()`` builds every actor group, the vLLM engines and this trainer, then calls
``fit``. ``fit`` here is npo-bench's run: evaluate the base, save ``step-000000``, then guided steps (the source acts
before each, injects into each, observes each) with periodic evaluation and checkpoints, and a final evaluation —
the embedded loop's schedule, writing the same run directory. Each step reuses the stock ``train_step`` (make
experience → push to the actor group → ``ppo_train`` → broadcast to vLLM) with the ``GuidedExperienceMaker``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import ray
import torch
from openrlhf.trainer.ppo_trainer import PPOTrainer
from openrlhf.trainer.ppo_utils.experience import Experience
from openrlhf.trainer.ray.vllm_engine import batch_vllm_engine_call
from openrlhf.utils.vlm_utils import process_prompt_with_images

from npo_bench.config import to_dict
from npo_bench.evaluate import score_responses
from npo_bench.guarded import guard_source
from npo_bench.host import get_host
from npo_bench.runs import RunDir, atomic_write_json
from npo_bench.trainer import checkpoints
from npo_bench.trainer.data import PromptStream
from npo_bench.trainer.resume import resume_from
from npo_bench.types import Prompt, RunEnd, RunStart
from npo_bench_plugins.openrlhf.control import OpenRLHFControl
from npo_bench_plugins.openrlhf.experience import GuidedExperienceMaker
from npo_bench_plugins.openrlhf.job import current_job, prompt_row
from npo_bench_plugins.openrlhf.processors import register_torchvision_free_processors


@dataclass(frozen=True, eq=False)
class EncodedRow:
    sequences: torch.Tensor  # (1, P + L)
    action_mask: torch.Tensor  # (1, P + L − 1), shifted by one
    attention_mask: torch.Tensor
    mm_train_inputs: Any


class GuidedPPOTrainerBase(PPOTrainer.__ray_actor_class__):
    def __init__(self, pretrain, strategy, actor_model_group, critic_model_group, reward_model_group,
                 reference_model_group, vllm_engines, **generate_kwargs):  # fmt: skip
        register_torchvision_free_processors()
        super().__init__(pretrain, strategy, actor_model_group, critic_model_group, reward_model_group,
                         reference_model_group, vllm_engines, **generate_kwargs)  # fmt: skip
        self.job = current_job()
        config = self.job.config
        self.run = RunDir.open(self.job.run_dir)
        self.stream = PromptStream(self.job.train_prompts, config.rollout.prompts_per_step, config.seed)
        self.experience_maker = GuidedExperienceMaker(
            self.actor_model_group, self.critic_model_group, self.reward_model_group, self.reference_model_group,
            self.kl_ctl, self.strategy, self.tokenizer,
            prompts=self.job.prompt_index, estimator=config.trainer.advantage, adv_eps=config.trainer.adv_eps,
        )  # fmt: skip
        dataset = self.prompts_dataloader.dataset
        self.dataset_rows = {label: i for i, label in enumerate(dataset.labels)}
        self.text_tokenizer = getattr(self.tokenizer, "tokenizer", self.tokenizer)
        self._encoded: dict[str, tuple[list[int], Any]] = {}

    def get_max_steps(self) -> int:
        """The LR schedule's horizon in DeepSpeed optimizer steps (its scheduler steps once per optimizer step):
        the run's steps × ``mini_batches`` optimizer steps per rollout batch."""
        t = current_job().config.trainer
        return int(t.steps) * int(t.mini_batches)

    # ---- npo-bench's run --------------------------------------------------------------------------------------
    def fit(self, global_step: int = 0) -> dict[str, float]:
        config = self.job.config
        ctl = OpenRLHFControl(self)
        source = get_host().get("source", config.source.name)
        ctl.attach_source(guard_source(source.load()(), source))  # a source's faults name it and its plugin
        test = self.job.test_prompts
        # the embedded backend's resume rules: newest intact checkpoint (and say so), never restart over metrics
        ref = resume_from(ctl, self.run, lambda line: print(line, file=sys.stderr)) if self.job.resume else None
        ctl.notify("on_run_start", RunStart(self.run.path, to_dict(config), ctl.step, ref is not None))
        try:
            result = self._run(ctl, test, fresh=ref is None)
        except BaseException as exc:
            ctl.notify("on_run_end", RunEnd(self.run.path, {}, error=f"{type(exc).__name__}: {exc}"))
            raise
        self.run.update_meta(ended=time.strftime("%Y-%m-%dT%H:%M:%S%z"), final_step=ctl.step, backend="openrlhf")
        final = {f"eval/{k}": v for k, v in result.scores.items()}
        ctl.notify("on_run_end", RunEnd(self.run.path, final))
        return final

    def _run(self, ctl: OpenRLHFControl, test: list[Prompt], fresh: bool):
        """The embedded loop's schedule: base evaluation and checkpoint, steps with periodic evaluation and saves,
        final evaluation and checkpoint."""
        t = self.job.config.trainer
        if fresh:
            self.run.metrics.truncate(0)
            self.evaluate_prompts(test, step=0)
            ctl.save("step-000000")
        while ctl.step < t.steps:
            ctl.run_step()
            if t.eval_every and ctl.step % t.eval_every == 0 and ctl.step < t.steps:
                self.evaluate_prompts(test, ctl.step)
            if ctl.step % t.save_every == 0 and ctl.step < t.steps:
                ctl.save(f"step-{ctl.step:06d}")
                checkpoints.prune_checkpoints(self.run.checkpoints, t.keep_checkpoints, protect={"step-000000"})
        result = self.evaluate_prompts(test, ctl.step)
        atomic_write_json(self.run.eval_dir / f"{result.benchmark}.json", {"step": ctl.step, **result.to_json()})
        ctl.save(f"step-{ctl.step:06d}")
        return result

    def guided_train_step(self, prompts, guidance, step: int):
        """One stock ``train_step`` on fresh rollouts of ``prompts`` with ``guidance`` (None = plain GRPO)."""
        rollouts = self.generate(prompts, self.args.rollout.n_samples_per_prompt)
        self.experience_maker.guidance = guidance
        try:
            status, _ = self.train_step(rollouts, step - 1)
        finally:
            self.experience_maker.guidance = None
        return status, self.experience_maker.last

    # ---- engines ------------------------------------------------------------------------------------------------
    def generate(self, prompts: list[Prompt], n: int, **overrides: Any) -> list[Experience]:
        """n rollouts per prompt from the vLLM engines, in prompt order (``rows[g*n + j]`` = slot j of prompt g)."""
        batch = [self._dataset_item(p) for p in prompts]
        kwargs = {**self.generate_kwargs, "n_samples_per_prompt": n, **overrides}
        if self.args.vllm.enable_sleep:
            batch_vllm_engine_call(self.vllm_engines, "wake_up")
        try:
            rows, _, _ = self.samples_generator._generate_vllm(
                iter([(["default"], [b[0]], [b[1]], [b[2]]) for b in batch]), len(batch), False, **kwargs
            )
        finally:
            if self.args.vllm.enable_sleep:
                batch_vllm_engine_call(self.vllm_engines, "sleep")
        order = {p.id: i for i, p in enumerate(prompts)}  # responses arrive per prompt as engines finish
        return sorted(rows, key=lambda row: order[row.labels[0]])

    def push_weights_to_engines(self) -> None:
        if self.vllm_engines is not None:
            self.broadcast_to_vllm()

    def engine_digests(self) -> list[str]:
        """Each engine's weights hash, where the engine can compute one (the CPU run's HF engines; vLLM's fused layout
        cannot be compared with the actor's, so the restore check samples greedily instead)."""
        if not self.vllm_engines or not hasattr(self.vllm_engines[0], "weights_digest"):
            return []
        return ray.get([engine.weights_digest.remote() for engine in self.vllm_engines])

    def evaluate_prompts(self, prompts: list[Prompt], step: int):
        e = self.job.config.eval
        samples = 1 if e.temperature == 0 else max(e.samples, 1)
        rows = self.generate(
            prompts,
            samples,
            temperature=e.temperature,
            top_p=e.top_p,
            top_k=e.top_k or -1,
            max_new_tokens=e.max_new_tokens,
        )
        texts: dict[str, list[str]] = {}
        for row in rows:
            marks = row.action_mask[0].bool()
            texts.setdefault(row.labels[0], []).append(
                self.text_tokenizer.decode(row.sequences[0, 1:][marks].tolist(), skip_special_tokens=True)
            )
        result = score_responses(self.job.benchmark, prompts, [texts[p.id] for p in prompts])
        self.run.metrics.append({"step": step, "phase": "eval", **{f"eval/{k}": v for k, v in result.scores.items()}})
        return result

    # ---- encodings ----------------------------------------------------------------------------------------------
    def _dataset_item(self, prompt: Prompt) -> tuple[str, str, Any]:
        """(chat text, label, images) of a prompt: the exported dataset's row, else the same preprocessing."""
        dataset = self.prompts_dataloader.dataset
        index = self.dataset_rows.get(prompt.id)
        if index is not None:
            return dataset.prompts[index], dataset.labels[index], dataset.images[index]
        from openrlhf.datasets.prompts_dataset import preprocess_data

        self.job.prompt_index.setdefault(prompt.id, prompt)
        image = None
        if prompt.image is not None:
            image = self.job.folder / "images" / f"extra-{abs(hash(prompt.id))}.png"
            prompt.image.save(image)
        row = prompt_row(prompt, self.job.config.task.prompt_template, image)
        text, label = preprocess_data(row, None, "prompt", "label", self.tokenizer.apply_chat_template)
        return text, label, row.get("images")

    def encoded_row(self, prompt: Prompt, response_ids: torch.Tensor) -> EncodedRow:
        """A teacher-forcing row (prompt tokens + response) the actor ranks can score."""
        if prompt.id not in self._encoded:
            text, _, images = self._dataset_item(prompt)
            if images:
                ids, mm, _ = process_prompt_with_images(self.tokenizer, text, images)
            else:
                ids, mm = self.text_tokenizer(text, add_special_tokens=False)["input_ids"], None
            self._encoded[prompt.id] = (list(ids), mm)
        ids, mm = self._encoded[prompt.id]
        sequences = torch.tensor(ids + response_ids.tolist(), dtype=torch.long).unsqueeze(0)
        action_mask = torch.zeros(1, sequences.shape[1] - 1, dtype=torch.bool)
        action_mask[0, len(ids) - 1 :] = True
        return EncodedRow(sequences, action_mask, torch.ones_like(sequences), [mm])


GuidedPPOTrainer = ray.remote(GuidedPPOTrainerBase)


def install() -> None:
    """Point the stock entry point at the guided classes (``train()`` imports ``PPOTrainer`` inside the function and
    ``PolicyModelActor`` at module level, so both module attributes are patched before ``runpy`` runs it)."""
    import openrlhf.trainer.ppo_trainer as ppo_trainer
    import openrlhf.trainer.ray.ppo_actor as ppo_actor

    from npo_bench_plugins.openrlhf.policy_actor import GuidedPolicyModelActor

    ppo_trainer.PPOTrainer = GuidedPPOTrainer
    ppo_actor.PolicyModelActor = GuidedPolicyModelActor
