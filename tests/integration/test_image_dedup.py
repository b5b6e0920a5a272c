"""Encoding each distinct image once gives the same log-probs and the same gradients as encoding every copy."""

import pytest
import torch

from npo_bench.config import TinyModelConfig
from npo_bench.policy import image_dedup
from npo_bench.policy.batching import collate, encode_prompt
from npo_bench.policy.loading import load_policy
from npo_bench.policy.logprobs import response_token_stats
from npo_bench.policy.tiny import build_tiny_policy
from npo_bench_benchmarks.synthetic.dataset import generate_split

PROMPTS = generate_split("train", 3, seed=11)
SMALL = dict(
    hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, num_kv_heads=1, vision_depth=1, vision_hidden=16
)


@pytest.fixture(scope="module", params=["qwen3_vl", "qwen2_5_vl", "qwen2_vl"])
def tiny_dir(request, tmp_path_factory):
    corpus = [f"{p.question} {p.meta['solution']}" for p in generate_split("train", 100, seed=11)]
    out = tmp_path_factory.mktemp(request.param)
    return build_tiny_policy(TinyModelConfig(arch=request.param, **SMALL), corpus, out, 128 * 128, 128 * 128)


def test_find_distinct_groups_bit_identical_images():
    a, b = torch.arange(8.0).reshape(4, 2), torch.arange(8.0).reshape(4, 2).flip(0)  # same sum, different image
    c = torch.ones(2, 2)
    pixels = torch.cat([a, b, a, c, b, a])  # (4+4+4+2+4+4, 2)
    grid = torch.tensor([[1, 2, 2], [1, 2, 2], [1, 2, 2], [1, 1, 2], [1, 2, 2], [1, 2, 2]])
    distinct = image_dedup.find_distinct(pixels, grid)
    assert distinct.keep == [0, 1, 3]
    assert distinct.source == [0, 1, 0, 2, 1, 0]
    rows = torch.tensor([[10.0], [11.0], [20.0], [30.0]])  # kept images with 2, 1 and 1 rows each
    assert image_dedup.repeat_rows(rows, distinct, [2, 1, 1]).flatten().tolist() == [10, 11, 20, 10, 11, 30, 20, 10, 11]


def _batch(policy):
    """Rows of three prompts, each image three times, interleaved (as length-sorted micro-batches mix them)."""
    encodings = [encode_prompt(policy, p, "{question}") for p in PROMPTS]
    rows, responses = [], []
    for cut in (4, 7, 10):
        for prompt, encoding in zip(PROMPTS, encodings, strict=True):
            ids = policy.tokenizer(prompt.meta["solution"], add_special_tokens=False)["input_ids"][:cut]
            rows.append(encoding)
            responses.append(torch.tensor(ids, dtype=torch.long))
    return collate(rows, responses, policy.pad_id)


def _logprobs_and_grads(policy, batch):
    policy.model.zero_grad(set_to_none=True)
    logprobs = response_token_stats(policy, batch, 1.0).logprobs  # (9, R)
    weights = torch.linspace(-1.0, 2.0, logprobs.numel()).reshape(logprobs.shape)
    (logprobs * weights).sum().backward()
    grads = {n: p.grad.clone() for n, p in policy.model.named_parameters() if p.grad is not None}
    return logprobs.detach(), grads


def test_dedup_keeps_logprobs_and_gradients(tiny_dir):
    plain = load_policy(tiny_dir, device="cpu", dedup_images=False)
    dedup = load_policy(tiny_dir, device="cpu", dedup_images=True)
    calls = []
    tower = dedup.model.model.visual
    tower.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(kwargs["grid_thw"].shape[0]), with_kwargs=True
    )
    batch = _batch(plain)
    lp_plain, g_plain = _logprobs_and_grads(plain, batch)
    lp_dedup, g_dedup = _logprobs_and_grads(dedup, batch)
    assert calls == [3]  # the tower saw the 3 distinct images, not the 9 rows' copies
    assert torch.allclose(lp_plain, lp_dedup, atol=1e-5)
    assert set(g_plain) == set(g_dedup)
    visual = [n for n in g_plain if ".visual." in n]
    assert visual and any(g_plain[n].abs().sum() > 0 for n in visual)  # the tower is trained through the copies
    for name in g_plain:
        assert torch.allclose(g_plain[name], g_dedup[name], atol=1e-5, rtol=1e-4), name


def test_dedup_leaves_the_saved_checkpoint_unchanged(tiny_dir):
    plain = load_policy(tiny_dir, device="cpu", dedup_images=False)
    dedup = load_policy(tiny_dir, device="cpu")
    assert list(plain.model.state_dict()) == list(dedup.model.state_dict())
