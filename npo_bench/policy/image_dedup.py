"""Encode each distinct image of a batch once in a Qwen-VL vision tower.

A GRPO batch holds every prompt's image ``n`` times (one row per rollout), and so does the prefill of ``n`` samples
per prompt. The vision tower encodes images independently (its attention stays inside an image, ``cu_seqlens``),
so encoding the distinct images once and repeating the feature rows gives the same features; repeating is an
``index_select``, whose backward adds the copies' gradients — what the tower's backward over the copies adds up to.

The tower is wrapped with a forward pre-hook (keep the distinct images) and a forward hook (repeat the rows), so the
module tree, the ``state_dict`` and ``save_pretrained`` are untouched. The hooks understand the outputs of the
Qwen3-VL tower (``pooler_output`` and ``deepstack_features`` per merged token, ``last_hidden_state`` per patch) and
a plain tensor of merged tokens (Qwen2/2.5-VL); on anything else, or a batch without repeats, they do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Distinct:
    """Which images of a batch to encode, and how to rebuild the full batch of feature rows from them."""

    keep: list[int]  # indices of the first copy of each distinct image, in batch order
    source: list[int]  # per image of the batch: its position in ``keep``

    @property
    def has_repeats(self) -> bool:
        return len(self.keep) < len(self.source)


def find_distinct(pixels: torch.Tensor, grid_thw: torch.Tensor) -> Distinct:
    """Group identical images; ``pixels`` (sum of patches, D) holds the images' patch rows back to back, ``grid_thw``
    (I, 3) their patch grids. Equal grids and bit-identical patches make two images one."""
    sizes = grid_thw.prod(-1)  # (I,) patches per image
    images = torch.split(pixels, sizes.tolist())
    owner = torch.repeat_interleave(torch.arange(len(images), device=pixels.device), sizes.to(pixels.device))  # (P,)
    per_patch = torch.stack([pixels.float().sum(-1), pixels[:, 0].float()], dim=-1)  # (P, 2)
    fingerprints = torch.zeros(len(images), 2, device=pixels.device).index_add_(0, owner, per_patch)  # (I, 2)
    keep: list[int] = []
    source: list[int] = []
    candidates: dict[tuple, list[int]] = {}  # (grid, fingerprint) → positions in keep; one host sync for all
    for index, (image, grid, fingerprint) in enumerate(
        zip(images, grid_thw.tolist(), fingerprints.tolist(), strict=True)
    ):
        key = (tuple(grid), *fingerprint)
        for position in candidates.get(key, []):
            if torch.equal(images[keep[position]], image):
                source.append(position)
                break
        else:
            candidates.setdefault(key, []).append(len(keep))
            source.append(len(keep))
            keep.append(index)
    return Distinct(keep, source)


def repeat_rows(rows: torch.Tensor, distinct: Distinct, rows_per_image: list[int]) -> torch.Tensor:
    """(sum over kept images of rows, …) → (sum over all images of rows, …): each image gets its copy's rows."""
    starts = [0]
    for count in rows_per_image[:-1]:
        starts.append(starts[-1] + count)
    index = torch.cat([torch.arange(starts[p], starts[p] + rows_per_image[p]) for p in distinct.source]).to(
        rows.device
    )  # (sum over all images of rows,)
    return rows.index_select(0, index)


class ImageDedup:
    """The pre-hook/hook pair on one vision tower, installed by :func:`attach`."""

    def __init__(self, tower: torch.nn.Module, merge_size: int):
        self.merge_unit = merge_size**2  # patches per merged token
        self.pending: list[tuple[Distinct, torch.Tensor] | None] = []  # per call in flight (nested calls are safe)
        tower.register_forward_pre_hook(self._before, with_kwargs=True)
        tower.register_forward_hook(self._after, with_kwargs=True)

    def _before(self, module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        pixels = args[0] if args else kwargs.get("hidden_states")
        grid = kwargs.get("grid_thw", args[1] if len(args) > 1 else None)
        if pixels is None or grid is None or grid.shape[0] < 2:
            self.pending.append(None)
            return None
        distinct = find_distinct(pixels, grid)
        if not distinct.has_repeats:
            self.pending.append(None)
            return None
        self.pending.append((distinct, grid))
        kept_grid = grid[distinct.keep]  # (I', 3)
        images = torch.split(pixels, grid.prod(-1).tolist())
        kept_pixels = torch.cat([images[i] for i in distinct.keep])  # (patches of the kept images, D)
        rest = {k: v for k, v in kwargs.items() if k not in ("hidden_states", "grid_thw")}
        return (kept_pixels,), {**rest, "grid_thw": kept_grid}

    def _after(self, module: Any, args: tuple, kwargs: dict, output: Any) -> Any:
        entry = self.pending.pop()
        if entry is None:
            return None
        distinct, grid = entry
        kept_patches = grid[distinct.keep].prod(-1).tolist()
        kept_merged = [count // self.merge_unit for count in kept_patches]
        if isinstance(output, torch.Tensor):  # Qwen2/2.5-VL: merged tokens
            return repeat_rows(output, distinct, kept_merged)
        if getattr(output, "pooler_output", None) is not None:  # Qwen3-VL
            output.pooler_output = repeat_rows(output.pooler_output, distinct, kept_merged)
            if getattr(output, "deepstack_features", None) is not None:
                output.deepstack_features = [repeat_rows(f, distinct, kept_merged) for f in output.deepstack_features]
            if getattr(output, "last_hidden_state", None) is not None:
                output.last_hidden_state = repeat_rows(output.last_hidden_state, distinct, kept_patches)
            return output
        raise RuntimeError(f"image dedup: unexpected vision tower output {type(output).__name__}")


def attach(model: Any) -> ImageDedup | None:
    """Install image dedup on ``model``'s vision tower (Qwen-VL layout: ``model.model.visual``); None if it has none."""
    inner = getattr(model, "model", None)
    tower = getattr(inner, "visual", None)
    merge_size = getattr(tower, "spatial_merge_size", None)
    if tower is None or merge_size is None:
        return None
    return ImageDedup(tower, int(merge_size))
