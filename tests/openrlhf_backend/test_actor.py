"""OpenRLHF's Actor (forward and backward) on the tiny Qwen3-VL with an image = the embedded backend's log-probs."""

from __future__ import annotations

import pytest
import torch
from openrlhf.models import Actor
from openrlhf.utils.vlm_utils import process_prompt_with_images
from PIL import Image

from npo_bench.policy.batching import collate, encode_prompt
from npo_bench.policy.loading import load_policy
from npo_bench.policy.logprobs import response_token_stats
from npo_bench.types import Prompt
from npo_bench_plugins.openrlhf.policy_actor import suppress_special_tokens
from npo_bench_plugins.openrlhf.processors import register_torchvision_free_processors


@pytest.mark.slow
def test_actor_logprobs_and_gradients_equal_the_embedded_backend(tiny_vlm):
    register_torchvision_free_processors()
    policy = load_policy(tiny_vlm, device="cpu", dtype="float32", share_prompts=False, dedup_images=False)
    image = Image.new("RGB", (48, 48), (200, 30, 30))
    prompt = Prompt("p0", "how many circles", "3", image=image)
    template = "{question}"
    encoding = encode_prompt(policy, prompt, template)
    response = torch.tensor(policy.tokenizer("<think> count 3 </think> <answer>3</answer>")["input_ids"])
    batch = collate([encoding], [response], policy.pad_id)
    policy.model.zero_grad()
    embedded = response_token_stats(policy, batch, temperature=1.0)
    embedded.logprobs.sum().backward()
    embedded_grad = policy.model.lm_head.weight.grad.clone()

    # OpenRLHF's side: its Actor (bf16 load, run in fp32 on CPU), its processor path, its shifted action mask
    actor = Actor(str(tiny_vlm), attn_implementation="sdpa", param_dtype="bf16")
    assert actor.is_vlm and type(actor.model) is type(policy.model)
    actor.model.float()  # the same weights and buffers (rotary inv_freq too) in full precision
    actor.model.load_state_dict(policy.model.state_dict())
    for (_, theirs_buffer), (_, ours_buffer) in zip(actor.model.named_buffers(), policy.model.named_buffers()):
        theirs_buffer.copy_(ours_buffer)
    from openrlhf.utils.utils import get_tokenizer

    processor = get_tokenizer(str(tiny_vlm), None, "left")
    suppress_special_tokens(actor.model, processor.tokenizer)  # the embedded backend's suppressed ids
    chat = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt.question}]}],
        tokenize=False, add_generation_prompt=True,
    )  # fmt: skip
    ids, mm_inputs, _ = process_prompt_with_images(processor, chat, [image])
    assert ids == encoding.input_ids.tolist()  # both backends feed the same prompt tokens
    sequences = torch.tensor(ids + response.tolist()).unsqueeze(0)
    action_mask = torch.zeros(1, sequences.shape[1] - 1, dtype=torch.bool)
    action_mask[0, len(ids) - 1 :] = True
    actor.model.zero_grad()
    logprobs = actor(sequences, action_mask, torch.ones_like(sequences), **mm_inputs)
    theirs = logprobs[0, -len(response) :]
    theirs.sum().backward()
    assert torch.allclose(theirs, embedded.logprobs[0], atol=1e-5), (theirs - embedded.logprobs[0]).abs().max()
    assert torch.allclose(actor.model.lm_head.weight.grad, embedded_grad, atol=1e-5)
    assert embedded_grad.abs().sum() > 0
