"""Batched sampling that returns the behaviour log-prob of every sampled token.

Two decoders give the same distribution: ``compact`` (:mod:`npo_bench.policy.decode`, the default where the
architecture allows) and HF ``generate``. Under ``generate``, temperature, top-k and top-p are applied by our own
logits processor (the last one in the chain, with HF's own warpers disabled), which also records ``log softmax`` of
the final scores — the exact distribution the token was drawn from. Only the previous step's distribution is kept,
(B, V) floats, so memory does not grow with the response length. Greedy decoding (``temperature == 0``) records
log-probs at temperature 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

from npo_bench.policy.batching import Encode, PromptEncoding, collate, encode_prompt
from npo_bench.policy.decode import decode, supports_compact_decoding, warp_function, warp_scores
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
        scores = warp_scores(scores, self.temperature, self.top_p, self.top_k)
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
    origin: str = "policy",
    top_k: int = 0,
    encode: Encode | None = None,
) -> list[list[Trajectory]]:
    """``n`` responses per prompt; returns one list of ``n`` trajectories per prompt, in order.

    Rows are generated in chunks of about ``batch_size`` sequences (whole groups of ``n``), with the policy's decoder:
    ``compact`` (:mod:`npo_bench.policy.decode`) where the architecture supports it, else HF ``generate``.
    Randomness comes from torch's global RNG, so a checkpoint that restores the RNG state replays identical samples.
    """
    policy.model.eval()
    encodings = [encode(p) if encode is not None else encode_prompt(policy, p, template) for p in prompts]
    generate = _decode_compact if policy.decoder == "compact" and supports_compact_decoding(policy) else _decode_hf
    per_chunk = max(1, batch_size // n)
    results: list[list[Trajectory]] = []
    for start in range(0, len(prompts), per_chunk):
        chunk = encodings[start : start + per_chunk]
        tokens, logprobs = generate(policy, chunk, n, temperature, top_p, top_k, max_new_tokens)  # (c·n, R) each
        for offset, prompt in enumerate(prompts[start : start + per_chunk]):
            rows = range(offset * n, (offset + 1) * n)
            results.append([_trajectory(policy, prompt, tokens[r], logprobs[r], origin) for r in rows])
    return results


def _decode_compact(
    policy: Policy, encodings: Sequence[PromptEncoding], n: int, temperature: float, top_p: float, top_k: int, R: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(c·n, R) tokens and log-probs, n consecutive rows per prompt."""
    batch = collate(encodings, None, policy.pad_id)
    decoded = decode(policy, batch, n, R, warp_function(temperature, top_p, top_k), greedy=temperature <= 0)
    return decoded.tokens, decoded.logprobs


def _decode_hf(
    policy: Policy, encodings: Sequence[PromptEncoding], n: int, temperature: float, top_p: float, top_k: int, R: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """HF ``generate`` on every row (n copies of each prompt), our warper last in the chain recording log-probs."""
    batch = collate([enc for enc in encodings for _ in range(n)], None, policy.pad_id)
    recorder = WarpAndRecord(temperature, top_p, batch.prompt_width, top_k)
    config = GenerationConfig(
        do_sample=temperature > 0,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        max_new_tokens=R,
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
    return sequences[:, batch.prompt_width :], recorder.finish(sequences)  # (b, R) each


def _trajectory(
    policy: Policy, prompt: Prompt, tokens: torch.Tensor, logprobs: torch.Tensor, origin: str
) -> Trajectory:
    tokens, logprobs = _trim_at_eos(tokens, logprobs, policy.eos_ids)
    text = policy.tokenizer.decode(tokens, skip_special_tokens=True)
    return Trajectory(prompt_id=prompt.id, response_ids=tokens, text=text, logprobs=logprobs, origin=origin)
