"""The tiny policy: built offline, saved and loaded through from_pretrained, sampling log-probs are exact."""

import pytest
import torch

from npo_bench.config import TinyModelConfig
from npo_bench.errors import UserError
from npo_bench.policy.batching import collate, encode_prompt
from npo_bench.policy.loading import load_policy
from npo_bench.policy.logprobs import response_token_stats
from npo_bench.policy.sampling import sample
from npo_bench.policy.tiny import build_tiny_policy
from npo_bench_benchmarks.synthetic.dataset import generate_split

PROMPTS = generate_split("train", 6, seed=5)
CORPUS = [f"{p.question} {p.meta['solution']}" for p in generate_split("train", 200, seed=5)] + ["user assistant"] * 5
SMALL = dict(
    hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, num_kv_heads=1, vision_depth=1, vision_hidden=16
)


@pytest.fixture(scope="module", params=["qwen3_vl", "qwen2_5_vl", "qwen2_vl"])
def tiny_dir(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    return build_tiny_policy(TinyModelConfig(arch=request.param, **SMALL), CORPUS, out, 128 * 128, 128 * 128)


def test_tiny_checkpoint_loads_through_from_pretrained(tiny_dir):
    from transformers import AutoConfig, AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(tiny_dir, local_files_only=True)
    params = sum(p.numel() for p in model.parameters())
    assert 10_000 < params < 5_000_000
    assert AutoConfig.from_pretrained(tiny_dir).model_type in ("qwen3_vl", "qwen2_5_vl", "qwen2_vl")
    policy = load_policy(tiny_dir, device="cpu")
    assert policy.is_vlm and policy.eos_ids == [policy.tokenizer.convert_tokens_to_ids("<|im_end|>")]
    reloaded = dict(policy.model.named_parameters())
    for name, value in model.named_parameters():
        assert torch.equal(value, reloaded[name]), name


@pytest.mark.parametrize("temperature,top_p", [(1.0, 1.0), (0.7, 0.8)])
def test_sampled_logprobs_equal_teacher_forced_logprobs(tiny_dir, temperature, top_p):
    policy = load_policy(tiny_dir, device="cpu")
    torch.manual_seed(0)
    groups = sample(
        policy, PROMPTS, n=3, temperature=temperature, top_p=top_p, max_new_tokens=12, template="{question}"
    )
    flat = [t for g in groups for t in g]
    assert len(flat) == 18 and all(0 < t.length <= 12 for t in flat)
    encodings = [encode_prompt(policy, p, "{question}") for p in PROMPTS for _ in range(3)]
    batch = collate(encodings, [t.response_ids for t in flat], policy.pad_id)
    with torch.no_grad():
        forced = response_token_stats(policy, batch, temperature).logprobs
    for row, trajectory in enumerate(flat):
        recorded = trajectory.logprobs
        if top_p == 1.0:  # the sampling distribution is exactly softmax(logits / T) without the banned tokens
            assert torch.allclose(recorded, forced[row, : trajectory.length], atol=1e-4)
        else:  # top-p renormalises over the nucleus: recorded log-probs are never below the full-softmax ones
            assert (recorded >= forced[row, : trajectory.length] - 1e-4).all()


def test_sampling_replays_under_the_same_rng_state(tiny_dir):
    policy = load_policy(tiny_dir, device="cpu")
    torch.manual_seed(7)
    first = sample(policy, PROMPTS[:2], 2, 1.0, 1.0, 10, "{question}")
    torch.manual_seed(7)
    second = sample(policy, PROMPTS[:2], 2, 1.0, 1.0, 10, "{question}")
    assert [t.text for g in first for t in g] == [t.text for g in second for t in g]


def test_greedy_is_deterministic_and_never_samples_special_tokens(tiny_dir):
    policy = load_policy(tiny_dir, device="cpu")
    a = sample(policy, PROMPTS, 1, 0.0, 1.0, 10, "{question}")
    b = sample(policy, PROMPTS, 1, 0.0, 1.0, 10, "{question}")
    assert [g[0].text for g in a] == [g[0].text for g in b]
    banned = set(policy.suppress_ids)
    assert not any(int(tok) in banned for g in a for tok in g[0].response_ids)


def test_missing_and_corrupt_model_directories_are_clear_errors(tmp_path, tiny_dir):
    with pytest.raises(UserError, match="does not exist"):
        load_policy(tmp_path / "nope")
    with pytest.raises(UserError, match="has no config.json"):
        load_policy(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in tiny_dir.iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(UserError, match="cannot load the model"):
        load_policy(broken)


def test_encoding_cache_returns_the_processors_encoding_once_per_prompt_and_evicts_the_oldest(tiny_dir):
    from npo_bench.policy.batching import EncodingCache

    policy = load_policy(tiny_dir, device="cpu")
    cache = EncodingCache(policy, "{question}", capacity=2)
    first = cache.get(PROMPTS[0])
    fresh = encode_prompt(policy, PROMPTS[0], "{question}")
    assert torch.equal(first.input_ids, fresh.input_ids) and torch.equal(first.pixel_values, fresh.pixel_values)
    assert cache.get(PROMPTS[0]) is first  # a hit: the processor is not run again
    cache.get(PROMPTS[1])
    cache.get(PROMPTS[0])  # PROMPTS[0] is now the most recent, PROMPTS[1] the oldest
    cache.get(PROMPTS[2])
    assert cache.get(PROMPTS[0]) is first
    assert list(cache._entries) == [PROMPTS[2].id, PROMPTS[0].id]


def test_step_encoder_runs_the_processor_once_per_prompt(tiny_dir):
    from npo_bench.policy.batching import step_encoder

    policy = load_policy(tiny_dir, device="cpu")
    encode = step_encoder(policy, "{question}")
    first = encode(PROMPTS[0])
    fresh = encode_prompt(policy, PROMPTS[0], "{question}")
    assert torch.equal(first.input_ids, fresh.input_ids) and torch.equal(first.pixel_values, fresh.pixel_values)
    assert encode(PROMPTS[0]) is first  # generation and the update share one encoding
    assert not torch.equal(encode(PROMPTS[1]).pixel_values, first.pixel_values)
    assert step_encoder(policy, "{question}")(PROMPTS[0]) is not first  # a new step starts empty
