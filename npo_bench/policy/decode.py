"""A sampling loop that drops finished rows from the batch (and its KV cache) as it goes.

HF ``generate`` keeps every row of a batch until the last one ends: a row that emitted EOS at token 8 still costs a
full forward per token until the longest row stops at the length cap. Decoding cost on CPU is close to linear in the
number of rows, and RL rollouts end at very different lengths, so a large part of ``generate``'s work is spent on
rows that are already done. This loop is the same algorithm — prefill, then one token per forward, sampled from
``warp(logits)`` — but it removes the finished rows from the input, the attention mask, the position ids and the
cache (``Cache.batch_select_indices``, the public method HF's own search strategies use). Two more savings: each
distinct prompt is prefilled once and its cache repeated for its ``n`` rows (``generate`` prefills all n copies),
and tokens are drawn by inverse CDF (:func:`sample_tokens`).

Position ids are passed explicitly, because the models' own bookkeeping (Qwen-VL's ``rope_deltas``) assumes that
the batch never shrinks:

* text-only models: ``attention_mask.cumsum(-1) - 1`` over the prompt (what ``generate`` computes), then the
  number of prompt tokens + t for generated token t;
* Qwen-VL models (M-RoPE): the model's ``get_rope_index`` for the prompt, then ``max prompt position + 1 + t`` on
  all three axes, as for any text that follows the image (a prompt without image: the text positions on all three
  axes, as ``generate`` gives it).

Other architectures are not supported here; :func:`supports_compact_decoding` says so and the sampler falls back
to ``generate``. ``tests/integration/test_decode.py`` checks this loop against ``generate`` on both model kinds.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from npo_bench.policy.batching import SequenceBatch
from npo_bench.policy.loading import Policy

Warp = Callable[[torch.Tensor], torch.Tensor]  # (b, V) float scores → (b, V) warped scores (temperature, top-k/p)


@dataclass(frozen=True, eq=False)
class Decoded:
    tokens: torch.Tensor  # (B, R) sampled ids, pad_id after a row's EOS
    logprobs: torch.Tensor  # (B, R) log-prob of each sampled token under the warped distribution, 0 after EOS


def supports_compact_decoding(policy: Policy) -> bool:
    """True when this loop knows how to give the model its position ids (text LMs and Qwen-VL M-RoPE models)."""
    if not cache_argument(policy.model):
        return False
    return not policy.is_vlm or callable(getattr(_inner_model(policy.model), "get_rope_index", None))


@torch.no_grad()
def decode(
    policy: Policy,
    batch: SequenceBatch,
    n: int,
    max_new_tokens: int,
    warp: Warp,
    greedy: bool,
    drop_fraction: float = 0.125,
) -> Decoded:
    """Sample ``n`` continuations of every prompt in ``batch`` (left-padded, no responses), up to ``max_new_tokens``.

    Each distinct prompt is prefilled once and its cache repeated ``n`` times; output rows are in prompt order,
    ``n`` consecutive rows per prompt. Finished rows leave the batch once they are ``drop_fraction`` of the rows
    carried (at least one). Each drop copies the cache: dropping every row as it finishes would copy a long GPU
    cache up to B times, while at 1/8 the batch shrinks by ≥ 1/8 per copy (≈ 40 copies for 128 rows at most) and
    ≤ 1/8 of the rows computed are finished ones. perf/decode_speed.py times both schedules.
    """
    from transformers import DynamicCache

    model, device = policy.model, policy.device
    inputs = batch.model_inputs(device)
    positions, next_position = prompt_positions(policy, inputs)  # (k, U, P) or (U, P), (U,)
    cache, cache_name = DynamicCache(config=model.config), cache_argument(model)
    out = model(**inputs, position_ids=positions, use_cache=True, logits_to_keep=1, **{cache_name: cache})
    logits = out.logits[:, -1, :].repeat_interleave(n, dim=0)  # (B, V), B = U·n
    if n > 1:
        cache.batch_repeat_interleave(n)
    attention = inputs["attention_mask"].repeat_interleave(n, dim=0)  # (b, P + t) of the rows still in the batch
    next_position = next_position.repeat_interleave(n)  # (B,)
    rope_axes = positions.shape[0] if positions.dim() == 3 else 0
    rows = logits.shape[0]
    eos = torch.tensor(policy.eos_ids, device=device, dtype=torch.long)
    suppress = list(policy.suppress_ids)

    tokens = torch.full((rows, max_new_tokens), policy.pad_id, dtype=torch.long, device=device)  # (B, R)
    logprobs = torch.zeros((rows, max_new_tokens), dtype=torch.float32, device=device)  # (B, R)
    alive = torch.arange(rows, device=device)  # (b,) batch row of each carried row
    done = torch.zeros(rows, dtype=torch.bool, device=device)  # (b,) carried rows that already emitted EOS
    for t in range(max_new_tokens):
        scores = logits.float()  # (b, V)
        if suppress:
            scores[:, suppress] = float("-inf")
        log_probs = torch.log_softmax(warp(scores), dim=-1)  # (b, V)
        chosen = log_probs.argmax(dim=-1) if greedy else sample_tokens(log_probs)  # (b,)
        chosen = chosen.masked_fill(done, policy.pad_id)
        chosen_logprobs = log_probs.gather(-1, chosen.unsqueeze(-1)).squeeze(-1)  # (b,)
        live = ~done
        tokens[alive[live], t] = chosen[live]
        logprobs[alive[live], t] = chosen_logprobs[live]
        done = done | torch.isin(chosen, eos)
        if t == max_new_tokens - 1 or bool(done.all()):
            break
        if int(done.sum()) >= max(1, int(drop_fraction * done.shape[0])):  # drop them from all the next step sees
            keep = (~done).nonzero().squeeze(1)  # (b',)
            cache.batch_select_indices(keep)
            alive, attention, chosen, done = alive[keep], attention[keep], chosen[keep], done[keep]
        attention = torch.cat([attention, attention.new_ones((attention.shape[0], 1))], dim=1)
        position = (next_position[alive] + t).view(1, -1, 1)  # (1, b, 1)
        position = position.expand(rope_axes, -1, -1) if rope_axes else position[0]
        out = model(
            input_ids=chosen.unsqueeze(1),
            attention_mask=attention,
            position_ids=position,
            use_cache=True,
            **{cache_name: cache},
        )
        logits = out.logits[:, -1, :]
    return Decoded(tokens.cpu(), logprobs.cpu())


def sample_tokens(log_probs: torch.Tensor) -> torch.Tensor:
    """(b, V) log-probs → (b,) one draw per row, by inverse CDF: one uniform number per row.

    ``torch.multinomial`` draws an exponential variate per vocabulary entry (b × V numbers) and was 7 % of a
    decoding step on the tiny model. The CDF is summed in float64, so rounding stays far below any probability
    that matters even over a 150 k vocabulary. Tokens of probability 0 are never drawn: ``searchsorted(right=True)``
    skips flat stretches of the CDF, and a ``u`` rounded up to the total falls back to the last token with mass.
    """
    probs = log_probs.exp()  # (b, V)
    cdf = probs.double().cumsum(dim=-1)  # (b, V)
    u = torch.rand((probs.shape[0], 1), device=probs.device, dtype=cdf.dtype) * cdf[:, -1:]  # (b, 1)
    drawn = torch.searchsorted(cdf, u, right=True).squeeze(1)  # (b,)
    vocab = probs.shape[-1]
    last_with_mass = vocab - 1 - (probs > 0).flip(-1).to(torch.uint8).argmax(dim=-1)  # (b,)
    return torch.minimum(drawn, last_with_mass)


def prompt_positions(policy: Policy, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Position ids of the prompt — (B, P) for text models, (3, B, P) for M-RoPE — and each row's next position."""
    mask = inputs["attention_mask"]  # (B, P)
    text_positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)  # (B, P)
    if not policy.is_vlm:
        return text_positions, mask.sum(-1)
    if "image_grid_thw" not in inputs:  # a text-only prompt to an M-RoPE model: text positions on all three axes
        return text_positions.unsqueeze(0).expand(3, -1, -1), mask.sum(-1)
    inner = _inner_model(policy.model)
    accepted = _parameters(type(inner).get_rope_index)
    keyword = {k: v for k, v in inputs.items() if k in accepted and k not in ("input_ids", "pixel_values")}
    rope_positions, _ = inner.get_rope_index(inputs["input_ids"], **keyword)  # (3, B, P)
    next_position = rope_positions.masked_fill(mask == 0, -1).amax(dim=(0, 2)) + 1  # (B,)
    return rope_positions, next_position


def _inner_model(model: torch.nn.Module) -> torch.nn.Module:
    return getattr(model, "model", model)


def cache_argument(model: torch.nn.Module) -> str | None:
    """The forward's name for the KV cache: ``cache`` since transformers 5.2x, ``past_key_values`` before."""
    parameters = _parameters(type(model).forward)
    return next((name for name in ("cache", "past_key_values") if name in parameters), None)


@functools.cache
def _parameters(function: Callable) -> frozenset[str]:
    """Parameter names of a model class's method, read once per class (every sample and micro-batch asks)."""
    return frozenset(inspect.signature(function).parameters)


def warp_function(temperature: float, top_p: float, top_k: int) -> Warp:
    """Temperature, then top-k, then top-p — the order of HF's warpers; greedy (T = 0) keeps T = 1 scores."""
    return lambda scores: warp_scores(scores, temperature, top_p, top_k)


def warp_scores(scores: torch.Tensor, temperature: float, top_p: float, top_k: int) -> torch.Tensor:
    """(B, V) scores → temperature, then top-k, then top-p; T = 0 (greedy) leaves them as they are."""
    if temperature > 0:
        scores = scores / temperature
        if 0 < top_k < scores.shape[-1]:
            kth = torch.topk(scores, top_k, dim=-1).values[..., -1:]  # (B, 1)
            scores = scores.masked_fill(scores < kth, float("-inf"))
        if top_p < 1.0:
            scores = _top_p_filter(scores, top_p)
    return scores


def _top_p_filter(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability mass reaches ``top_p`` (at least one)."""
    sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
    cumulative = sorted_scores.softmax(-1).cumsum(-1)
    drop_sorted = cumulative - sorted_scores.softmax(-1) >= top_p  # mass before this token already reaches top_p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return scores.masked_fill(drop, float("-inf"))


__all__: Sequence[str] = (
    "Decoded",
    "decode",
    "sample_tokens",
    "supports_compact_decoding",
    "warp_function",
    "warp_scores",
)
