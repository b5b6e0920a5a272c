"""Batched sampling with HF ``generate`` that returns the behaviour log-prob of every sampled token.

Temperature, top-k and top-p are applied by our own logits processor (the last one in the chain, with HF's own warpers
disabled), which also records ``log softmax`` of the final scores — the exact distribution the token was drawn from.
Only the previous step's distribution is kept, (B, V) floats, so memory does not grow with the response length.
Greedy decoding (``temperature == 0``) records log-probs at temperature 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

from npo_bench.policy.batching import Encode, collate, encode_prompt
from npo_bench.policy.loading import Policy
from npo_bench.types import Prompt, Trajectory


class WarpAndRecord(LogitsProcessor):
    """Apply temperature, top-k and top-p, and record log π(sampled token) one step late (from the next input_ids)."""

    def __init__(self, temperature: float, top_p: float, prompt_width: int, top_k: int = 0):
        self.temperature = temperature
        self.top_p = top_p
        self.top_k = top_k
        self.prompt_width = prompt_width
        self.previous: torch.Tensor | None = None  # (B, V) log-probs of the last step
        self.recorded: list[torch.Tensor] = []  # each (B,)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.previous is not None:
            self._record(input_ids[:, -1])
        if self.temperature > 0:
            scores = scores / self.temperature
            if 0 < self.top_k < scores.shape[-1]:
                kth = torch.topk(scores, self.top_k, dim=-1).values[..., -1:]  # (B, 1)
                scores = scores.masked_fill(scores < kth, float("-inf"))
            if self.top_p < 1.0:
                scores = _top_p_filter(scores, self.top_p)
        self.previous = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def _record(self, tokens: torch.Tensor) -> None:
        assert self.previous is not None
        self.recorded.append(self.previous.gather(-1, tokens.unsqueeze(-1)).squeeze(-1))

    def finish(self, sequences: torch.Tensor) -> torch.Tensor:
        """(B, R) log-probs of all generated tokens (the last one gathered from the final distribution)."""
        if sequences.shape[1] > self.prompt_width + len(self.recorded):
            self._record(sequences[:, -1].to(self.previous.device))  # callers may have moved sequences to the CPU
        if not self.recorded:
            return torch.zeros((sequences.shape[0], 0))
        return torch.stack(self.recorded, dim=1).cpu()


def _top_p_filter(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability mass reaches ``top_p`` (at least one)."""
    sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
    cumulative = sorted_scores.softmax(-1).cumsum(-1)
    drop_sorted = cumulative - sorted_scores.softmax(-1) >= top_p  # mass before this token already reaches top_p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return scores.masked_fill(drop, float("-inf"))


def _trim_at_eos(
    tokens: torch.Tensor, logprobs: torch.Tensor, eos_ids: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut a generated row after its first EOS (kept) — the rest is padding."""
    is_eos = torch.isin(tokens, torch.tensor(list(eos_ids), dtype=tokens.dtype))
    if is_eos.any():
        end = int(is_eos.nonzero()[0, 0]) + 1
        return tokens[:end].clone(), logprobs[:end].clone()
    return tokens.clone(), logprobs.clone()


@torch.no_grad()
def sample(
    policy: Policy,
    prompts: Sequence[Prompt],
    n: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    template: str,
    batch_size: int = 256,
    source: str = "policy",
    top_k: int = 0,
    encode: Encode | None = None,
) -> list[list[Trajectory]]:
    """``n`` responses per prompt; returns one list of ``n`` trajectories per prompt, in order.

    Rows are generated in chunks of ``batch_size`` sequences. Randomness comes from torch's global RNG, so a
    checkpoint that restores the RNG state replays identical samples.
    """
    policy.model.eval()
    encodings = [encode(p) if encode is not None else encode_prompt(policy, p, template) for p in prompts]
    rows = [(i, enc) for i, enc in enumerate(encodings) for _ in range(n)]
    results: list[list[Trajectory]] = [[] for _ in prompts]
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        batch = collate([enc for _, enc in chunk], None, policy.pad_id)
        recorder = WarpAndRecord(temperature, top_p, batch.prompt_width, top_k)
        config = GenerationConfig(
            do_sample=temperature > 0,
            temperature=1.0,
            top_p=1.0,
            top_k=0,
            max_new_tokens=max_new_tokens,
            eos_token_id=policy.eos_ids,
            pad_token_id=policy.pad_id,
            suppress_tokens=policy.suppress_ids or None,
        )
        sequences = policy.model.generate(
            **batch.model_inputs(policy.device),
            generation_config=config,
            logits_processor=LogitsProcessorList([recorder]),
        )
        sequences = sequences.cpu()
        logprobs = recorder.finish(sequences)  # (b, R)
        generated = sequences[:, batch.prompt_width :]  # (b, R)
        for (prompt_index, _), tokens, token_logprobs in zip(chunk, generated, logprobs, strict=True):
            tokens, token_logprobs = _trim_at_eos(tokens, token_logprobs, policy.eos_ids)
            text = policy.tokenizer.decode(tokens, skip_special_tokens=True)
            results[prompt_index].append(
                Trajectory(
                    prompt_id=prompts[prompt_index].id,
                    response_ids=tokens,
                    text=text,
                    logprobs=token_logprobs,
                    source=source,
                )
            )
    return results
