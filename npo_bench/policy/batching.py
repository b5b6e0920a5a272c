"""Turn prompts (and responses) into model inputs.

Layout of a training batch: ``[left-padded prompt | right-padded response]``, so every response starts at column
``P`` and the logits that predict response token ``j`` sit at column ``P - 1 + j``. Vision inputs of a batch are the
per-sample images concatenated in row order, as the Qwen-VL models expect.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from npo_bench.errors import UserError
from npo_bench.policy.loading import Policy
from npo_bench.types import Prompt


@dataclass(frozen=True, eq=False)
class PromptEncoding:
    input_ids: torch.Tensor  # (P,) int64 chat-formatted prompt, image placeholders expanded
    mm_token_type_ids: torch.Tensor | None  # (P,) 1 on image tokens (Qwen-VL M-RoPE), None for text models
    pixel_values: torch.Tensor | None  # (patches, patch_dim) flattened image patches
    image_grid_thw: torch.Tensor | None  # (1, 3) temporal/height/width patch grid


@dataclass(frozen=True, eq=False)
class SequenceBatch:
    input_ids: torch.Tensor  # (B, P + R)
    attention_mask: torch.Tensor  # (B, P + R) 1 on real tokens
    response_mask: torch.Tensor  # (B, R) float, 1 on response tokens (EOS included)
    prompt_width: int  # P
    mm_token_type_ids: torch.Tensor | None  # (B, P + R)
    pixel_values: torch.Tensor | None  # (sum of patches, patch_dim)
    image_grid_thw: torch.Tensor | None  # (B, 3)
    prompt_of_row: tuple[int, ...] | None = None  # per row: the first row with the same PromptEncoding object

    def model_inputs(self, device: torch.device) -> dict[str, torch.Tensor]:
        inputs = {"input_ids": self.input_ids, "attention_mask": self.attention_mask}
        if self.pixel_values is not None:
            inputs.update(
                pixel_values=self.pixel_values,
                image_grid_thw=self.image_grid_thw,
                mm_token_type_ids=self.mm_token_type_ids,
            )
        return {k: v.to(device) for k, v in inputs.items()}


def format_messages(question: str, has_image: bool, template: str) -> list[dict]:
    text = template.format(question=question)
    content = ([{"type": "image"}] if has_image else []) + [{"type": "text", "text": text}]
    return [{"role": "user", "content": content}]


def encode_prompt(policy: Policy, prompt: Prompt, template: str) -> PromptEncoding:
    """Chat-format one prompt and run the processor (image → patches, placeholder expansion)."""
    has_image = prompt.image is not None
    if has_image and not policy.is_vlm:
        raise UserError(f"prompt {prompt.id} has an image but the model in {policy.path} is text-only")
    messages = format_messages(prompt.question, has_image, template)
    if policy.is_vlm:
        text = policy.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        out = policy.processor(text=[text], images=[prompt.image] if has_image else None, return_tensors="pt")
        return PromptEncoding(
            input_ids=out["input_ids"][0],
            mm_token_type_ids=out["mm_token_type_ids"][0] if "mm_token_type_ids" in out else None,
            pixel_values=out.get("pixel_values"),
            image_grid_thw=out.get("image_grid_thw"),
        )
    ids = policy.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    ids = ids["input_ids"] if isinstance(ids, Mapping) else ids  # transformers 5 returns a BatchEncoding (a UserDict)
    return PromptEncoding(torch.tensor(ids, dtype=torch.long), None, None, None)


Encode = Callable[[Prompt], PromptEncoding]  # prompt → processor output (a step's memo, or an EncodingCache's get)


def step_encoder(policy: Policy, template: str) -> Encode:
    """``encode_prompt`` memoized by prompt id, for one training step: generation and the update see the same
    prompts, so each is encoded once; the memo goes away with the step (a run-long cache of every prompt would hold
    ≈ 0.4 MB of pixels per prompt)."""
    memo: dict[str, PromptEncoding] = {}

    def encode(prompt: Prompt) -> PromptEncoding:
        if prompt.id not in memo:
            memo[prompt.id] = encode_prompt(policy, prompt, template)
        return memo[prompt.id]

    return encode


class EncodingCache:
    """The last ``capacity`` prompt encodings by prompt id: scoring the same responses under several checkpoints
    (AutoNPO's candidates, a guide's KL) runs the processor (chat template, image → patches) once per prompt."""

    def __init__(self, policy: Policy, template: str, capacity: int = 2048):
        self.policy, self.template, self.capacity = policy, template, capacity
        self._entries: OrderedDict[str, PromptEncoding] = OrderedDict()

    def get(self, prompt: Prompt) -> PromptEncoding:
        encoding = self._entries.get(prompt.id)
        if encoding is None:
            encoding = self._entries[prompt.id] = encode_prompt(self.policy, prompt, self.template)
            if len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(prompt.id)
        return encoding


def collate(
    encodings: Sequence[PromptEncoding], responses: Sequence[torch.Tensor] | None, pad_id: int
) -> SequenceBatch:
    """Left-pad prompts to a common width P, right-pad responses (L,) to a common width R."""
    batch = len(encodings)
    width = max(int(e.input_ids.shape[0]) for e in encodings)
    resp_width = max((int(r.shape[0]) for r in responses), default=0) if responses is not None else 0
    input_ids = torch.full((batch, width + resp_width), pad_id, dtype=torch.long)
    attention = torch.zeros((batch, width + resp_width), dtype=torch.long)
    mm_types = torch.zeros((batch, width + resp_width), dtype=torch.long)
    response_mask = torch.zeros((batch, resp_width), dtype=torch.float32)
    for row, enc in enumerate(encodings):
        length = int(enc.input_ids.shape[0])
        input_ids[row, width - length : width] = enc.input_ids
        attention[row, width - length : width] = 1
        if enc.mm_token_type_ids is not None:
            mm_types[row, width - length : width] = enc.mm_token_type_ids
        if responses is not None:
            resp = responses[row]
            input_ids[row, width : width + resp.shape[0]] = resp
            attention[row, width : width + resp.shape[0]] = 1
            response_mask[row, : resp.shape[0]] = 1.0
    with_images = [e for e in encodings if e.pixel_values is not None]
    if with_images and len(with_images) != batch:
        raise UserError("a batch mixes prompts with and without images; the embedded trainer needs one or the other")
    return SequenceBatch(
        input_ids=input_ids,
        attention_mask=attention,
        response_mask=response_mask,
        prompt_width=width,
        mm_token_type_ids=mm_types if with_images else None,
        pixel_values=torch.cat([e.pixel_values for e in with_images]) if with_images else None,
        image_grid_thw=torch.cat([e.image_grid_thw for e in with_images]) if with_images else None,
        prompt_of_row=_first_row_of_each_encoding(encodings),
    )


def _first_row_of_each_encoding(encodings: Sequence[PromptEncoding]) -> tuple[int, ...]:
    """Rows that hold the same encoding object hold the same prompt (one object per prompt and step)."""
    first: dict[int, int] = {}
    return tuple(first.setdefault(id(e), row) for row, e in enumerate(encodings))
