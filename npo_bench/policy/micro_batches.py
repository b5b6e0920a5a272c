"""Length-bucketed micro-batches: the one loop through which every teacher-forced forward over many responses goes.

The update's forward with gradient, its measurement of zero-advantage rows, π_old before a multi-mini-batch update,
and the sources' log-probs and entropies under any checkpoint all run the responses as micro-batches of at most
``max_rows`` sequences and ``max_tokens`` padded response tokens, sorted by length (less padding, bounded memory).
Gradient mode is the caller's: the iterator runs each forward when the caller asks for the next micro-batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from npo_bench.policy.batching import PromptEncoding, SequenceBatch, collate
from npo_bench.policy.loading import Policy
from npo_bench.policy.logprobs import TokenStats, response_token_stats


@dataclass(frozen=True)
class MicroBatching:
    """The size of a micro-batch: ``trainer.micro_batch_size`` rows, ``trainer.micro_batch_tokens`` tokens."""

    max_rows: int
    max_tokens: int  # padded response tokens (rows × longest response); 0 = no cap


@dataclass(frozen=True, eq=False)
class MicroBatch:
    """One forward pass: which of the caller's rows it holds, their batch, and the policy's token statistics."""

    rows: list[int]  # indices into the caller's sequences, in batch-row order
    lengths: list[int]  # response length L of each row
    batch: SequenceBatch  # [left-padded prompt | right-padded response], (m, P + R)
    stats: TokenStats  # logprobs (m, R), entropy (m, R) or None; 0 off the response mask

    @property
    def mask(self) -> torch.Tensor:
        """(m, R) float, 1 on response tokens, on the device of the statistics."""
        return self.batch.response_mask.to(self.stats.logprobs.device)

    def unpadded(self, values: torch.Tensor) -> Iterator[tuple[int, torch.Tensor]]:
        """(row index, values[row, :L]) for each row: a (m, R) tensor cut back to each response's length."""
        for position, (index, length) in enumerate(zip(self.rows, self.lengths, strict=True)):
            yield index, values[position, :length]


def length_buckets(lengths: Sequence[int], indices: Sequence[int], max_rows: int, max_tokens: int) -> list[list[int]]:
    """``indices`` sorted by ``lengths[i]`` and cut, in that order, into micro-batches of at most ``max_rows`` rows
    and at most ``max_tokens`` padded response tokens (rows × longest response; 0 = no token cap). A row longer than
    the cap gets a micro-batch of its own. Short on-policy rows fill whole micro-batches; a few long guide traces
    (LUFFY's teacher) no longer pad a full micro-batch to their length."""
    ordered = sorted(indices, key=lambda i: (lengths[i], i))
    max_rows = max(max_rows, 1)
    buckets: list[list[int]] = []
    for i in ordered:  # ascending length: the row being added is the bucket's longest
        current = buckets[-1] if buckets else None
        fits = current is not None and len(current) < max_rows
        if current is not None and fits and max_tokens > 0:
            fits = (len(current) + 1) * lengths[i] <= max_tokens
        if current is not None and fits:
            current.append(i)
        else:
            buckets.append([i])
    return buckets


def forward_micro_batches(
    policy: Policy,
    encodings: Sequence[PromptEncoding],
    responses: Sequence[torch.Tensor],
    indices: Sequence[int],
    size: MicroBatching,
    temperature: float,
    with_entropy: bool = False,
) -> Iterator[MicroBatch]:
    """Teacher-forced forwards over ``responses[i]`` (L,) after ``encodings[i]``, for ``i`` in ``indices``, one
    length-bucketed micro-batch at a time (differentiable unless the caller runs it under ``no_grad``)."""
    lengths = [int(response.shape[0]) for response in responses]
    for rows in length_buckets(lengths, indices, size.max_rows, size.max_tokens):
        batch = collate([encodings[i] for i in rows], [responses[i] for i in rows], policy.pad_id)
        stats = response_token_stats(policy, batch, temperature, with_entropy)
        yield MicroBatch(rows, [lengths[i] for i in rows], batch, stats)
