"""Prompts run once over a KV cache, on the three tiny Qwen-VL architectures and a text-only Qwen3: the compact
decoder (npo_bench/policy/decode.py) against HF ``generate`` — same greedy tokens and log-probs while rows leave the
batch at different lengths — and the shared prompt forward (npo_bench/policy/shared_prompt.py) against the plain
teacher-forced forward."""

import dataclasses

import pytest
import torch

from npo_bench.config import TinyModelConfig
from npo_bench.errors import UserError
from npo_bench.policy import sampling
from npo_bench.policy.decode import sample_tokens
from npo_bench.policy.loading import load_policy
from npo_bench.policy.sampling import sample
from npo_bench.policy.tiny import build_tiny_policy
from npo_bench.policy.tokenizer import train_tokenizer
from npo_bench.types import Prompt
from npo_bench_benchmarks.synthetic.dataset import generate_split

VL_PROMPTS = generate_split("train", 5, seed=11)
TEXT_PROMPTS = [Prompt(id=f"t{i}", question=p.question, answer=p.answer) for i, p in enumerate(VL_PROMPTS)]
CORPUS = [f"{p.question} {p.meta['solution']}" for p in generate_split("train", 200, seed=5)] + ["user assistant"] * 5
SMALL = dict(
    hidden_size=32, intermediate_size=64, num_layers=2, num_heads=2, num_kv_heads=1, vision_depth=1, vision_hidden=16
)
LENGTH = 14


def _text_model_dir(out):
    from transformers import AutoModelForCausalLM, Qwen3Config

    tokenizer = train_tokenizer(CORPUS, 512)
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module", params=["qwen3_vl", "qwen2_5_vl", "qwen2_vl", "qwen3_text"])
def case(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    if request.param == "qwen3_text":
        return _text_model_dir(out), TEXT_PROMPTS
    return build_tiny_policy(TinyModelConfig(arch=request.param, **SMALL), CORPUS, out, 64 * 64, 64 * 64), VL_PROMPTS


def _load(model_dir, **options):
    """The checkpoint with its matrices redrawn at std 0.3: at the init std (0.02) greedy decoding repeats one
    token forever, which would leave nothing for either decoder to get wrong."""
    policy = load_policy(model_dir, device="cpu", **options)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in policy.model.parameters():
            if parameter.dim() >= 2:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    return policy


def _with_early_stops(policy, prompts, temperature=0.0):
    """A random model almost never emits its EOS: declare as EOS the token whose first appearance in the outputs
    (greedy, or 4 seeded samples per prompt) falls at the most different positions, so that rows end at several
    lengths and the compact decoder has rows to drop."""
    torch.manual_seed(0)
    reference = sample(
        dataclasses.replace(policy, decoder="generate"), prompts, 4, temperature, 1.0, LENGTH, "{question}"
    )
    first_seen: dict[int, set[int]] = {}
    counts: dict[int, int] = {}
    for trajectory in (t for g in reference for t in g):
        ids = trajectory.response_ids.tolist()
        for token in set(ids):
            first_seen.setdefault(token, set()).add(ids.index(token))
            counts[token] = counts.get(token, 0) + 1
    token = max(first_seen, key=lambda t: (len(first_seen[t]), counts[t]))
    return dataclasses.replace(policy, eos_ids=[token])


class RowCounter:
    """Rows of every forward call of the language model (a forward pre-hook)."""

    def __init__(self, model):
        self.rows: list[int] = []
        self.handle = model.register_forward_pre_hook(self._record, with_kwargs=True)

    def _record(self, module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        self.rows.append(int(ids.shape[0]))


def test_greedy_compact_decoding_equals_generate_while_rows_leave(case):
    model_dir, prompts = case
    policy = _with_early_stops(_load(model_dir), prompts)
    n = 3  # greedy: the n rows of a prompt are identical, which checks the cache repeat
    expected = sample(dataclasses.replace(policy, decoder="generate"), prompts, n, 0.0, 1.0, LENGTH, "{question}")
    counter = RowCounter(policy.model)
    got = sample(policy, prompts, n, 0.0, 1.0, LENGTH, "{question}")
    counter.handle.remove()

    lengths = {t.length for g in expected for t in g}
    assert len(lengths) >= 2, "the test needs rows that end at different lengths"
    for want_group, got_group in zip(expected, got, strict=True):
        for want, have in zip(want_group, got_group, strict=True):
            assert torch.equal(have.response_ids, want.response_ids)
            assert torch.allclose(have.logprobs, want.logprobs, atol=1e-5)
    # one prefill row per distinct prompt, then the batch shrinks as rows finish, never grows
    assert counter.rows[0] == len(prompts)
    decode_rows = counter.rows[1:]
    assert decode_rows[0] == n * len(prompts) or decode_rows[0] < n * len(prompts)
    assert all(a >= b for a, b in zip(decode_rows, decode_rows[1:], strict=False))
    assert decode_rows[-1] < n * len(prompts)
    assert len(decode_rows) == max(t.length for g in got for t in g) - 1  # no forward after the last token


def test_text_only_prompts_to_a_vision_model_decode_as_with_generate(case):
    """MMStar's text-only twins reach a VLM without an image: M-RoPE then has only text positions."""
    model_dir, prompts = case
    if prompts is TEXT_PROMPTS:
        pytest.skip("the text-only model is covered above")
    policy = _with_early_stops(_load(model_dir), TEXT_PROMPTS)
    expected = sample(dataclasses.replace(policy, decoder="generate"), TEXT_PROMPTS, 2, 0.0, 1.0, LENGTH, "{question}")
    got = sample(policy, TEXT_PROMPTS, 2, 0.0, 1.0, LENGTH, "{question}")
    assert len({t.length for g in expected for t in g}) >= 2
    for want, have in zip((t for g in expected for t in g), (t for g in got for t in g), strict=True):
        assert torch.equal(have.response_ids, want.response_ids)
        assert torch.allclose(have.logprobs, want.logprobs, atol=1e-5)


def test_sampled_rows_keep_their_prompt_order_and_logprobs(case):
    """At T = 1 the compact decoder's recorded log-probs equal teacher-forced ones, row by row, so each row is
    really the continuation of the prompt it is filed under."""
    from npo_bench.policy.batching import collate, encode_prompt
    from npo_bench.policy.logprobs import response_token_stats

    model_dir, prompts = case
    policy = _with_early_stops(_load(model_dir), prompts, temperature=1.0)
    torch.manual_seed(3)
    groups = sample(policy, prompts, 4, 1.0, 1.0, LENGTH, "{question}")
    flat = [t for g in groups for t in g]
    assert len({t.length for t in flat}) >= 2
    encodings = [encode_prompt(policy, p, "{question}") for p in prompts for _ in range(4)]
    batch = collate(encodings, [t.response_ids for t in flat], policy.pad_id)
    with torch.no_grad():
        forced = response_token_stats(policy, batch, 1.0).logprobs  # (B, R)
    for row, trajectory in enumerate(flat):
        assert trajectory.prompt_id == prompts[row // 4].id
        assert torch.allclose(trajectory.logprobs, forced[row, : trajectory.length], atol=1e-4)


def test_generate_decoder_and_unsupported_models_use_hf_generate(case, monkeypatch):
    model_dir, prompts = case
    policy = _load(model_dir, decoder="generate")
    called = []
    monkeypatch.setattr(sampling, "decode", lambda *a, **k: called.append(1))
    sample(policy, prompts[:2], 2, 1.0, 1.0, 4, "{question}")
    monkeypatch.setattr(sampling, "supports_compact_decoding", lambda policy: False)
    sample(dataclasses.replace(policy, decoder="compact"), prompts[:2], 2, 1.0, 1.0, 4, "{question}")
    assert called == []


def test_unknown_decoder_is_one_clear_error(case):
    with pytest.raises(UserError, match=r"model.decoder='beam' is not supported"):
        load_policy(case[0], device="cpu", decoder="beam")


def test_inverse_cdf_draws_follow_the_distribution_and_never_a_token_without_mass():
    probs = torch.tensor([0.5, 0.0, 0.3, 0.2, 0.0])
    log_probs = probs.log().expand(40_000, -1)  # (b, V)
    torch.manual_seed(0)
    drawn = sample_tokens(log_probs)
    frequencies = torch.bincount(drawn, minlength=5).float() / drawn.numel()
    assert frequencies[1] == 0 and frequencies[4] == 0
    assert torch.allclose(frequencies, probs, atol=0.01)  # 4 sd of a binomial at 40 000 draws is ≤ 0.01


def test_a_uniform_rounded_up_to_the_total_mass_falls_back_to_the_last_token_with_mass(monkeypatch):
    log_probs = torch.tensor([[0.6, 0.4, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]).log()
    monkeypatch.setattr(torch, "rand", lambda shape, **kw: torch.ones(shape, dtype=kw.get("dtype")))
    assert sample_tokens(log_probs).tolist() == [1, 3]


def test_shared_prompt_forward_gives_the_plain_forward_log_probs_and_gradients(case):
    """``model.share_prompt_forward``: each distinct prompt runs once and its KV cache serves its rows; log-probs,
    entropies and the gradient of a loss over them equal the plain forward's (npo_bench/policy/shared_prompt.py)."""
    from npo_bench.policy.batching import collate, encode_prompt
    from npo_bench.policy.logprobs import response_token_stats

    model_dir, prompts = case
    encodings = [encode_prompt(_load(model_dir), p, "{question}") for p in prompts[:3]]
    generator = torch.Generator().manual_seed(1)
    rows = [enc for enc in encodings for _ in range(3)] + [encodings[1]]  # 10 rows, 3 distinct prompts
    responses = [torch.randint(10, 200, (int(torch.randint(1, 9, (1,), generator=generator)),), generator=generator)]
    responses += [torch.randint(10, 200, (1 + i % 7,), generator=generator) for i in range(len(rows) - 1)]
    batch = collate(rows, responses, 0)
    assert batch.prompt_of_row == (0, 0, 0, 3, 3, 3, 6, 6, 6, 3)

    results = {}
    for share in (False, True):
        policy = dataclasses.replace(_load(model_dir), share_prompts=share)
        policy.model.train()
        calls = RowCounter(policy.model)
        stats = response_token_stats(policy, batch, 1.0, with_entropy=True)
        calls.handle.remove()
        (stats.logprobs.sum() + 0.1 * stats.entropy.sum()).backward()
        gradients = {name: p.grad.clone() for name, p in policy.model.named_parameters() if p.grad is not None}
        results[share] = (stats.logprobs.detach(), stats.entropy.detach(), gradients, calls.rows)

    plain, shared = results[False], results[True]
    assert plain[3] == [10] and shared[3] == [3, 10]  # the prompt pass saw 3 rows, the response pass 10
    assert torch.allclose(shared[0], plain[0], atol=1e-5)
    assert torch.allclose(shared[1], plain[1], atol=1e-5)
    assert shared[2].keys() == plain[2].keys()
    for name, gradient in plain[2].items():
        scale = float(gradient.abs().max())
        assert float((shared[2][name] - gradient).abs().max()) <= 1e-4 * max(scale, 1.0), name
