"""Qwen-VL processors that work without torchvision.

transformers' Qwen2/2.5/3-VL processors build a *video* processor, which needs torchvision; no working torchvision
exists for the project's CPU torch (``../shared/reference/environment.md`` §2). These subclasses skip the video
processor and keep everything else (chat template, image-token expansion, ``mm_token_type_ids``). They load a real
``Qwen3-VL-8B-Instruct`` directory exactly like the tiny one (``from_pretrained``).
"""

from __future__ import annotations

from typing import Any

from transformers.models.qwen2_5_vl.processing_qwen2_5_vl import Qwen2_5_VLProcessor
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor
from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor
from transformers.processing_utils import ProcessorMixin


def _set_vision_tokens(processor: Any, tokenizer: Any) -> None:
    for attr, default in (
        ("image_token", "<|image_pad|>"),
        ("video_token", "<|video_pad|>"),
        ("vision_start_token", "<|vision_start|>"),
        ("vision_end_token", "<|vision_end|>"),
    ):
        token = getattr(tokenizer, attr, None) or default
        setattr(processor, attr, token)
        setattr(processor, f"{attr}_id", tokenizer.convert_tokens_to_ids(token))


class VideoFreeQwen3VLProcessor(Qwen3VLProcessor):
    """Qwen3-VL processor without the torchvision-backed video processor."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any):
        _set_vision_tokens(self, tokenizer)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


class VideoFreeQwen2_5_VLProcessor(Qwen2_5_VLProcessor):
    """Qwen2.5-VL processor without the torchvision-backed video processor."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any):
        _set_vision_tokens(self, tokenizer)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


class VideoFreeQwen2VLProcessor(Qwen2VLProcessor):
    """Qwen2-VL processor without the torchvision-backed video processor."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any):
        _set_vision_tokens(self, tokenizer)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


PROCESSORS: dict[str, type[ProcessorMixin]] = {
    "qwen3_vl": VideoFreeQwen3VLProcessor,
    "qwen3_vl_moe": VideoFreeQwen3VLProcessor,
    "qwen2_5_vl": VideoFreeQwen2_5_VLProcessor,
    "qwen2_vl": VideoFreeQwen2VLProcessor,
}
PATCH_SIZE = {"qwen3_vl": 16, "qwen3_vl_moe": 16, "qwen2_5_vl": 14, "qwen2_vl": 14}


def make_image_processor(model_type: str, min_pixels: int, max_pixels: int) -> Qwen2VLImageProcessorPil:
    """The PIL (torchvision-free) Qwen-VL image processor with the architecture's patch size."""
    return Qwen2VLImageProcessorPil(
        patch_size=PATCH_SIZE[model_type],
        merge_size=2,
        temporal_patch_size=2,
        size={"shortest_edge": min_pixels, "longest_edge": max_pixels},
    )
