"""Teacher-forced logits with each distinct prompt run through the model once (``model.share_prompt_forward``).

A GRPO micro-batch holds every prompt n times, and on the tiny-cpu task the prompt is ≈ 2/3 of each row's tokens, so
most of an update's forward and backward is spent on identical prompt copies. Here the distinct prompts go through
the model once, with a KV cache; the cache is indexed out to one entry per row (``repeat_cache_rows``, an
``index_select`` whose backward adds the copies' gradients in a fixed order), and the responses run over it in a
second forward. The logits of response token j come from the prompt pass for j = 0 and from the response pass for
j ≥ 1. Same values as the plain forward up to floating-point order (``tests/integration/test_decode.py`` checks
log-probs and gradients).

Rows share a prompt when their ``PromptEncoding`` is the same object (``collate`` records it): the step encoder
hands the n rows of a group one encoding, so the check is free and never merges two different prompts.
"""

from __future__ import annotations

from typing import Any

import torch

from npo_bench.policy.batching import SequenceBatch
from npo_bench.policy.decode import cache_argument, prompt_positions, supports_compact_decoding
from npo_bench.policy.loading import Policy


def can_share_prompts(policy: Policy, batch: SequenceBatch) -> bool:
    """Worth it and possible: some rows repeat a prompt, and the model takes explicit positions and a cache."""
    return (
        batch.prompt_of_row is not None
        and len(set(batch.prompt_of_row)) < len(batch.prompt_of_row)
        and supports_compact_decoding(policy)
    )


def shared_prompt_logits(policy: Policy, batch: SequenceBatch) -> torch.Tensor:
    """(B, R, V) logits predicting each response token, as ``response_logits`` returns them."""
    from transformers import DynamicCache

    assert batch.prompt_of_row is not None
    device, width = policy.device, batch.prompt_width
    firsts = sorted(set(batch.prompt_of_row))  # (U,) the first row of each distinct prompt
    slot = {row: i for i, row in enumerate(firsts)}
    owner = torch.tensor([slot[row] for row in batch.prompt_of_row], device=device)  # (B,) distinct prompt of a row
    prompt_inputs = _prompt_inputs(batch, firsts, device)
    positions, next_position = prompt_positions(policy, prompt_inputs)  # (k, U, P) or (U, P), (U,)
    cache, cache_name = DynamicCache(config=policy.model.config), cache_argument(policy.model)
    prompt_out = policy.model(
        **prompt_inputs, position_ids=positions, use_cache=True, logits_to_keep=1, **{cache_name: cache}
    )
    repeat_cache_rows(cache, owner)  # one cache row per batch row
    responses = batch.input_ids[:, width:].to(device)  # (B, R)
    steps = torch.arange(responses.shape[1], device=device)
    response_positions = next_position[owner].unsqueeze(1) + steps  # (B, R)
    if positions.dim() == 3:
        response_positions = response_positions.unsqueeze(0).expand(positions.shape[0], -1, -1)  # (k, B, R)
    response_out = policy.model(
        input_ids=responses,
        attention_mask=batch.attention_mask.to(device),
        position_ids=response_positions,
        use_cache=True,
        **{cache_name: cache},
    )
    first = prompt_out.logits[:, -1, :].index_select(0, owner).unsqueeze(1)  # (B, 1, V) predicts response token 0
    return torch.cat([first, response_out.logits[:, :-1, :]], dim=1)  # (B, R, V)


def repeat_cache_rows(cache: Any, owner: torch.Tensor) -> None:
    """Give each batch row its prompt's cache entry: row b gets entry ``owner[b]`` (``owner``: (B,)).

    ``index_select``, not ``Cache.batch_select_indices``: that one is advanced indexing (``keys[owner, ...]``),
    whose backward on CPU is an ``index_put_`` with accumulation that runs in parallel with atomic float adds
    when a tensor has ≥ 32 768 elements and torch has > 1 thread. Copies of one prompt handled by different
    threads then add their gradients in a timing-dependent order, and the same seed gave different weights from
    the second optimizer step on. ``index_select``'s backward (``index_add_``) adds in index order."""
    from transformers.cache_utils import DynamicLayer

    for layer in cache.layers:
        if type(layer).batch_select_indices is not DynamicLayer.batch_select_indices:
            layer.batch_select_indices(owner)  # a layer with more state than keys and values
        elif layer.get_seq_length() > 0:
            layer.keys = layer.keys.index_select(0, owner)  # (B, kv_heads, P, head_dim)
            layer.values = layer.values.index_select(0, owner)


def _prompt_inputs(batch: SequenceBatch, rows: list[int], device: torch.device) -> dict[str, torch.Tensor]:
    """Model inputs of the prompt columns of ``rows`` (their images cut out of the batch's concatenated patches)."""
    index = torch.tensor(rows)
    width = batch.prompt_width
    inputs = {"input_ids": batch.input_ids[index, :width], "attention_mask": batch.attention_mask[index, :width]}
    if batch.pixel_values is not None:
        assert batch.image_grid_thw is not None and batch.mm_token_type_ids is not None
        sizes = batch.image_grid_thw.prod(-1).tolist()  # patches per row's image
        images = torch.split(batch.pixel_values, sizes)
        inputs.update(
            pixel_values=torch.cat([images[row] for row in rows]),
            image_grid_thw=batch.image_grid_thw[index],
            mm_token_type_ids=batch.mm_token_type_ids[index, :width],
        )
    return {k: v.to(device) for k, v in inputs.items()}
