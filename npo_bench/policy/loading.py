"""Load a policy from a local HF directory: a Qwen-VL model + video-free processor, or a text-only causal LM.

This is the one path every model takes: a real ``Qwen3-VL-8B-Instruct`` on a GPU machine and the tiny random-init
model built by :mod:`npo_bench.policy.tiny` (saved with ``save_pretrained``) on a 2-core CPU.
Nothing is downloaded: a name that is not a local directory is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers.utils import logging as hf_logging

from npo_bench.errors import UserError
from npo_bench.policy import image_dedup
from npo_bench.policy.model_dir import read_model_config
from npo_bench.policy.processor import PROCESSORS

hf_logging.disable_progress_bar()  # per-shard load/save bars would drown our own progress display

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DECODERS = ("compact", "generate")


@dataclass
class Policy:
    """A model with its processor/tokenizer and the token ids the rollout code needs."""

    model: Any  # transformers PreTrainedModel
    tokenizer: Any
    processor: Any | None  # None for text-only models
    path: Path
    model_type: str
    eos_ids: list[int] = field(default_factory=list)
    pad_id: int = 0
    suppress_ids: list[int] = field(default_factory=list)  # special tokens the policy must never sample
    decoder: str = "compact"  # compact (npo_bench.policy.decode, where supported) | generate (HF generate)
    share_prompts: bool = True  # teacher forcing runs each distinct prompt of a batch once (policy.shared_prompt)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def is_vlm(self) -> bool:
        return self.processor is not None


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"model.device={name!r} but no CUDA device is available", hint="use model.device=cpu")
    return torch.device(name)


def read_model_type(path: Path) -> str:
    """The ``model_type`` of a model directory, its config.json checked first (:mod:`npo_bench.policy.model_dir`)."""
    return str(read_model_config(path)["model_type"])


def load_policy(
    path: str | Path,
    device: str = "auto",
    dtype: str = "float32",
    attn_implementation: str = "sdpa",
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    dedup_images: bool = True,
    decoder: str = "compact",
    share_prompts: bool = True,
) -> Policy:
    """Load model + processor from ``path`` (never from the hub).

    ``dedup_images`` makes the vision tower encode each distinct image of a batch once (:mod:`image_dedup`).
    ``decoder`` picks the sampling loop (:mod:`npo_bench.policy.sampling`); ``share_prompts`` runs each distinct
    prompt of a teacher-forced batch once (:mod:`npo_bench.policy.shared_prompt`).
    """
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoTokenizer, GenerationConfig

    path = Path(path)
    model_type = read_model_type(path)
    if dtype not in DTYPES:
        raise UserError(f"model.dtype={dtype!r} is not supported", hint=f"known: {', '.join(DTYPES)}")
    if decoder not in DECODERS:
        raise UserError(f"model.decoder={decoder!r} is not supported", hint=f"known: {', '.join(DECODERS)}")
    kwargs = {"dtype": DTYPES[dtype], "attn_implementation": attn_implementation, "local_files_only": True}
    try:
        if model_type in PROCESSORS:
            processor = PROCESSORS[model_type].from_pretrained(path, local_files_only=True)
            if min_pixels is not None and max_pixels is not None:
                processor.image_processor.size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
            tokenizer = processor.tokenizer
            model = AutoModelForImageTextToText.from_pretrained(path, **kwargs)
        else:
            processor = None
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except UserError:
        raise
    except Exception as exc:  # transformers/safetensors raise many types for a bad checkpoint; name the folder
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot load the model in {path}: {first_line}", hint="corrupt or incomplete checkpoint?"
        ) from None
    model.to(resolve_device(device))
    if dedup_images and processor is not None:
        image_dedup.attach(model)
    tokenizer.padding_side = "left"
    return Policy(
        model=model,
        tokenizer=tokenizer,
        processor=processor,
        path=path,
        model_type=model_type,
        eos_ids=_eos_ids(path, tokenizer, GenerationConfig),
        pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        suppress_ids=_suppress_ids(tokenizer),
        decoder=decoder,
        share_prompts=share_prompts,
    )


def load_policy_for(path: str | Path, model: Any) -> Policy:
    """``load_policy`` with a ``ModelConfig``'s settings (device, dtype, attention, pixels, image dedup, decoder)."""
    return load_policy(
        path,
        model.device,
        model.dtype,
        model.attn_implementation,
        model.min_pixels,
        model.max_pixels,
        model.dedup_images,
        model.decoder,
        model.share_prompt_forward,
    )


def _eos_ids(path: Path, tokenizer: Any, generation_config_cls: Any) -> list[int]:
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    try:
        generation_config = generation_config_cls.from_pretrained(path, local_files_only=True)
        eos = generation_config.eos_token_id
        ids.update(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    except OSError:
        pass
    return sorted(i for i in ids if i is not None)


def _suppress_ids(tokenizer: Any) -> list[int]:
    names = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>", "<|im_start|>", "<pad>")
    vocab = tokenizer.get_vocab()
    return sorted(vocab[name] for name in names if name in vocab)
