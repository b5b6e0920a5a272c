"""The ``--train.agent_func_path`` file: OpenRLHF's single-turn executor, rewarded by npo-bench's verifier.

OpenRLHF loads this file in every vLLM engine (``_load_agent_executor``) and calls ``AgentExecutor().execute`` once
per sample. Generation is the stock ``SingleTurnAgentExecutor``'s; the reward is the embedded backend's
(``score_trajectory``: the benchmark's scorer, plus the format term), computed from the action tokens — not from a
decoded prompt + response string, whose expanded image pads would not round-trip. The row's label is the prompt id.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from openrlhf.utils.agent import SingleTurnAgentExecutor

from npo_bench_plugins.openrlhf import adapter
from npo_bench_plugins.openrlhf.job import current_job


class AgentExecutor(SingleTurnAgentExecutor):
    def __init__(self) -> None:
        super().__init__(remote_rm_url=None)

    @functools.cached_property
    def job(self):
        return current_job()

    async def execute(self, prompt, label, sampling_params, max_length: int, hf_tokenizer, llm_engine, images=None):
        output = await super().execute(prompt, label, sampling_params, max_length, hf_tokenizer, llm_engine, images)
        # the verifier runs its math checks in worker processes (npo_bench.verify.pool): safe off the main thread
        return await asyncio.to_thread(reward_output, output, label, hf_tokenizer, self.job)


def reward_output(output: dict[str, Any], label: str, tokenizer: Any, job: Any) -> dict[str, Any]:
    """Fill ``reward``/``scores``/``extra_logs.correct`` of one executor output with npo-bench's verdict."""
    import torch

    prompt = job.prompt_index[label]
    start, end = output["action_ranges"][0]
    response = output["observation_tokens"][start:end]
    text = tokenizer.decode(response, skip_special_tokens=True)
    trajectory = adapter.rollout_trajectory(prompt, torch.tensor(response), text, 0.0, False)
    scored = adapter.verify(trajectory, prompt, job.benchmark, job.config.trainer.format_weight)
    output.update(
        reward=float(scored.reward), scores=float(scored.reward), extra_logs={"correct": float(bool(scored.correct))}
    )
    return output
