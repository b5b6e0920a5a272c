"""Build a tiny random-init policy of a real Qwen-VL architecture, offline, and save it with ``save_pretrained``.

The text and vision towers are the transformers classes of Qwen3-VL (default), Qwen2.5-VL or Qwen2-VL with a small
config (~1–5 M parameters); the tokenizer is a BPE trained on the task's own text. The saved directory loads back
through :func:`npo_bench.policy.loading.load_policy`, the same path a real ``Qwen3-VL-8B-Instruct`` takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from npo_bench.config import TinyModelConfig
from npo_bench.errors import UserError
from npo_bench.policy.processor import PROCESSORS, make_image_processor
from npo_bench.policy.tokenizer import train_tokenizer


def _rope(head_dim: int, interleaved: bool) -> dict[str, Any]:
    half = head_dim // 2  # M-RoPE sections (temporal, height, width) must sum to head_dim / 2
    section = [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": section}
    if interleaved:
        rope["mrope_interleaved"] = True
    return rope


def tiny_model_config(cfg: TinyModelConfig, tokenizer: Any) -> Any:
    """A transformers config of the chosen architecture, sized by ``cfg``, wired to ``tokenizer``'s special ids."""
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig, Qwen3VLConfig

    ids = {name: tokenizer.convert_tokens_to_ids(name) for name in tokenizer.all_special_tokens}
    ids.update({t: tokenizer.convert_tokens_to_ids(t) for t in ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>")})
    if cfg.hidden_size % cfg.num_heads:
        raise UserError(f"model.tiny: hidden_size {cfg.hidden_size} is not divisible by num_heads {cfg.num_heads}")
    head_dim = cfg.hidden_size // cfg.num_heads
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_layers,
        "num_attention_heads": cfg.num_heads,
        "num_key_value_heads": cfg.num_kv_heads,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": True,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": None,
    }
    common = {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "tie_word_embeddings": True,
    }
    if cfg.arch == "qwen3_vl":
        text.update(head_dim=head_dim, rope_parameters=_rope(head_dim, interleaved=True))
        vision = {
            "depth": cfg.vision_depth,
            "hidden_size": cfg.vision_hidden,
            "intermediate_size": 2 * cfg.vision_hidden,
            "num_heads": 2,
            "out_hidden_size": cfg.hidden_size,
            "patch_size": 16,
            "num_position_embeddings": 64,
            "deepstack_visual_indexes": [cfg.vision_depth - 1],
        }
        return Qwen3VLConfig(text_config=text, vision_config=vision, **common)
    text.update(rope_parameters=_rope(head_dim, interleaved=False))
    if cfg.arch == "qwen2_5_vl":
        vision = {
            "depth": cfg.vision_depth,
            "hidden_size": cfg.vision_hidden,
            "intermediate_size": 2 * cfg.vision_hidden,
            "num_heads": 2,
            "out_hidden_size": cfg.hidden_size,
            "patch_size": 14,
            "fullatt_block_indexes": list(range(cfg.vision_depth)),
            "window_size": 112,
        }
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **common)
    if cfg.arch == "qwen2_vl":
        vision = {
            "depth": cfg.vision_depth,
            "embed_dim": cfg.vision_hidden,
            "hidden_size": cfg.hidden_size,
            "num_heads": 2,
            "patch_size": 14,
        }
        return Qwen2VLConfig(text_config=text, vision_config=vision, **common)
    raise UserError(
        f"model.tiny.arch={cfg.arch!r} is not a known tiny architecture", hint=f"known: {', '.join(TINY_ARCHS)}"
    )


TINY_ARCHS = ("qwen3_vl", "qwen2_5_vl", "qwen2_vl")


def build_tiny_policy(
    cfg: TinyModelConfig, corpus: Iterable[str], out_dir: str | Path, min_pixels: int, max_pixels: int
) -> Path:
    """Train the tokenizer on ``corpus``, random-init the model with ``cfg.init_seed``, save model + processor."""
    from transformers import AutoModelForImageTextToText, GenerationConfig

    out_dir = Path(out_dir)
    tokenizer = train_tokenizer(corpus, cfg.vocab_size)
    model_config = tiny_model_config(cfg, tokenizer)
    torch.manual_seed(cfg.init_seed)
    model = AutoModelForImageTextToText.from_config(model_config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=True
    )
    processor = PROCESSORS[cfg.arch](
        make_image_processor(cfg.arch, min_pixels, max_pixels), tokenizer, chat_template=tokenizer.chat_template
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return out_dir
