"""``HFRolloutActor``: OpenRLHF's rollout engine actor without vLLM, for CPU runs (``backend_options.device: cpu``).

vLLM cannot run a vision-language model on CPU (no torchvision build for the CPU torch). This actor is OpenRLHF's
``RolloutRayActor`` with the vLLM engine swapped for HF ``generate`` on the policy's own weights; everything around
it is stock: ``create_vllm_engines`` places it (``vllm_engine.RolloutRayActor`` points here for the run),
``generate_responses`` runs the real agent executor (npo-bench's verifier-rewarded ``AgentExecutor``), and
``ActorPPOTrainer.broadcast_to_vllm`` pushes every parameter into it through ``init_process_group`` /
``update_weight`` (over the CPU shim's gloo communicator). What it returns from ``generate`` has the fields OpenRLHF
reads from a vLLM ``RequestOutput`` (``outputs[0].token_ids/text/finish_reason/logprobs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ray
import torch
from openrlhf.trainer.ray.vllm_engine import RolloutRayActor, _load_agent_executor
from openrlhf.utils.agent import SingleTurnAgentExecutor

from npo_bench_plugins.openrlhf.processors import register_torchvision_free_processors


@dataclass
class CompletionOutput:
    token_ids: list[int]
    text: str
    finish_reason: str  # "stop" (EOS) | "length" (max_tokens)
    logprobs: list[dict[int, Any]] | None = None


@dataclass
class RequestOutput:
    outputs: list[CompletionOutput] = field(default_factory=list)


@dataclass(frozen=True)
class Logprob:
    logprob: float


class HFRolloutActorBase(RolloutRayActor.__ray_actor_class__):
    async def __init__(
        self,
        *args: Any,
        bundle_indices: list | None = None,
        agent_func_path: str | None = None,
        remote_rm_url: str | None = None,
        mm_pad_token_ids: set | None = None,
        **kwargs: Any,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor

        from npo_bench_plugins.openrlhf.policy_actor import suppress_special_tokens

        register_torchvision_free_processors()
        self.executor = (
            _load_agent_executor(agent_func_path) if agent_func_path else SingleTurnAgentExecutor(remote_rm_url)
        )
        self.kwargs = kwargs
        self._mm_pad_token_ids = mm_pad_token_ids
        path, dtype = kwargs["model"], getattr(torch, kwargs.get("dtype", "bfloat16"))
        torch.manual_seed(int(kwargs.get("seed", 0)))
        self.processor = AutoProcessor.from_pretrained(path)
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        loader = AutoModelForImageTextToText if hasattr(self.processor, "image_processor") else AutoModelForCausalLM
        self.model = loader.from_pretrained(path, dtype=dtype, attn_implementation="sdpa").eval()
        suppress_special_tokens(self.model, self.tokenizer)  # as the actor's forwards (and the embedded sampler)
        self._params = dict(self.model.named_parameters())
        self._model_update_group = None

    # ---- generation ---------------------------------------------------------------------------------------------
    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None) -> RequestOutput:
        """One continuation of ``prompt_token_ids`` (image pads already expanded by OpenRLHF's processor path)."""
        ids = torch.tensor([list(prompt_token_ids)], dtype=torch.long)  # (1, P)
        inputs: dict[str, Any] = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        if multi_modal_data and multi_modal_data.get("image"):
            pixels = self.processor.image_processor(images=multi_modal_data["image"], return_tensors="pt")
            inputs.update(
                pixel_values=pixels["pixel_values"].to(self.model.dtype), image_grid_thw=pixels["image_grid_thw"]
            )
        p = sampling_params
        temperature = float(getattr(p, "temperature", 1.0) or 0.0)
        top_k = getattr(p, "top_k", -1)
        sample = temperature > 0
        eos = self.tokenizer.eos_token_id
        with torch.no_grad():
            out = self.model.generate(
                **inputs,
                do_sample=sample,
                temperature=temperature if sample else None,
                top_p=float(getattr(p, "top_p", 1.0)) if sample else None,
                top_k=(top_k if top_k and top_k > 0 else None) if sample else None,
                max_new_tokens=int(p.max_tokens),
                min_new_tokens=int(getattr(p, "min_tokens", 0) or 0),
                eos_token_id=eos,
                pad_token_id=self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos,
                output_scores=getattr(p, "logprobs", None) is not None,
                return_dict_in_generate=True,
            )
        tokens = out.sequences[0, ids.shape[1] :].tolist()
        if eos in tokens:  # vLLM keeps the stop token and nothing after it
            tokens = tokens[: tokens.index(eos) + 1]
        finish = "stop" if tokens and tokens[-1] == eos else "length"
        logprobs = None
        if getattr(p, "logprobs", None) is not None:
            steps = [torch.log_softmax(s[0].float(), -1) for s in out.scores[: len(tokens)]]
            logprobs = [{t: Logprob(float(step[t]))} for t, step in zip(tokens, steps, strict=True)]
        skip = bool(getattr(p, "skip_special_tokens", False))
        return RequestOutput(
            [CompletionOutput(tokens, self.tokenizer.decode(tokens, skip_special_tokens=skip), finish, logprobs)]
        )

    def get_num_unfinished_requests(self) -> int:
        return 0  # generate runs to completion inside the call

    async def sleep(self, level: int = 1) -> None:  # no KV cache to free
        return None

    async def wake_up(self, tags: list[str] | None = None) -> None:
        return None

    async def reset_prefix_cache(self) -> None:
        return None

    async def pause_generation(self) -> None:
        return None

    async def resume_generation(self) -> None:
        return None

    # ---- weights from DeepSpeed rank 0 (ActorPPOTrainer.broadcast_to_vllm) -------------------------------------
    async def init_process_group(
        self, master_address, master_port, rank_offset, world_size, group_name, backend, use_ray
    ):
        from openrlhf.utils.distributed_util import stateless_init_process_group

        if use_ray:
            raise ValueError(
                "the HF rollout engine syncs weights through the stateless group (--vllm.sync_with_ray off)"
            )
        self._model_update_group = stateless_init_process_group(
            master_address, master_port, rank_offset, world_size, "cpu"
        )

    async def update_weight(self, name, dtype, shape, empty_cache=False):
        weight = torch.empty(shape, dtype=dtype)
        self._model_update_group.broadcast(weight, src=0, stream=None)
        with torch.no_grad():
            self._params[name].copy_(weight)

    async def update_weight_cuda_ipc(self, *args: Any, **kwargs: Any):
        raise RuntimeError("CUDA IPC weight sync needs a GPU (the CPU run syncs over gloo)")

    def weights_digest(self) -> str:
        """A hash of the engine's weights (tests: after a broadcast it equals the actor's)."""
        import hashlib

        digest = hashlib.sha256()
        for name, value in sorted(self.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(value.detach().float().cpu().numpy().tobytes())
        return digest.hexdigest()


HFRolloutActor = ray.remote(HFRolloutActorBase)


def install() -> None:
    """Make the stock ``create_vllm_engines`` place HF rollout actors (module attribute it reads at call time)."""
    import openrlhf.trainer.ray.vllm_engine as vllm_engine

    vllm_engine.RolloutRayActor = HFRolloutActor
