"""The policy update: micro-batching never changes the gradient; a positive advantage raises a response's log-prob."""

import copy

import pytest
import torch

from npo_bench.config import TinyModelConfig
from npo_bench.policy import micro_batches
from npo_bench.policy.batching import collate, encode_prompt
from npo_bench.policy.loading import load_policy
from npo_bench.policy.logprobs import response_token_stats
from npo_bench.policy.tiny import build_tiny_policy
from npo_bench.presets import resolve
from npo_bench.trainer.step import Rows, update_policy
from npo_bench.types import Trajectory
from npo_bench_benchmarks.synthetic.dataset import generate_split

PROMPTS = generate_split("train", 5, seed=9)
SMALL = dict(
    hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, num_kv_heads=1, vision_depth=1, vision_hidden=16
)


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    corpus = [f"{p.question} {p.meta['solution']}" for p in generate_split("train", 100, seed=9)]
    path = build_tiny_policy(TinyModelConfig(**SMALL), corpus, tmp_path_factory.mktemp("tiny"), 128 * 128, 128 * 128)
    return load_policy(path, device="cpu")


def _rows(policy):
    encodings, responses = [], []
    for prompt in PROMPTS:
        encoding = encode_prompt(policy, prompt, "{question}")
        for cut in (3, 7, 11):  # responses of different lengths (prefixes of the reference solution)
            ids = policy.tokenizer(prompt.meta["solution"], add_special_tokens=False)["input_ids"][:cut]
            encodings.append(encoding)
            responses.append(torch.tensor(ids, dtype=torch.long))
    advantages = torch.linspace(-1.0, 1.0, len(responses))
    return Rows(encodings, _members(responses), advantages)


def _members(responses):
    return [Trajectory("p", response, "") for response in responses]


@pytest.mark.parametrize("loss_agg", ["token_mean", "seq_mean_token_mean"])
def test_micro_batches_give_the_same_update(policy, loss_agg):
    rows = _rows(policy)
    results = []
    for micro, tokens in ((1000, 0), (4, 0), (1000, 25)):  # one forward; 4 rows each; ≤ 25 padded tokens each
        config = resolve(
            "micro",
            overrides=[
                f"trainer.micro_batch_size={micro}",
                f"trainer.micro_batch_tokens={tokens}",
                f"trainer.loss_agg={loss_agg}",
                "trainer.grad_clip=1e9",
            ],
        )
        copy_ = copy.deepcopy(policy)
        optimizer = torch.optim.SGD(copy_.model.parameters(), lr=1.0)
        metrics = update_policy(copy_, optimizer, rows, config)
        results.append((copy_.model.state_dict(), metrics))
    (a, ma), *others = results
    for b, mb in others:
        for key in a:
            assert torch.allclose(a[key], b[key], atol=1e-6), key
        assert ma["policy/loss"] == pytest.approx(mb["policy/loss"], abs=1e-6)
        assert ma["policy/entropy"] == pytest.approx(mb["policy/entropy"], rel=1e-5)
        assert ma["train/tokens"] == mb["train/tokens"]


def test_positive_advantage_raises_and_negative_lowers_log_probs(policy):
    prompt = PROMPTS[0]
    encoding = encode_prompt(policy, prompt, "{question}")
    good = torch.tensor(policy.tokenizer(prompt.meta["solution"], add_special_tokens=False)["input_ids"])
    bad = torch.tensor(policy.tokenizer("<think>none</think><answer>9</answer>", add_special_tokens=False)["input_ids"])
    rows = Rows([encoding, encoding], _members([good, bad]), torch.tensor([1.0, -1.0]))
    model = copy.deepcopy(policy)
    batch = collate([encoding, encoding], [good, bad], model.pad_id)

    def total_logprobs():
        with torch.no_grad():
            return response_token_stats(model, batch, 1.0).logprobs.sum(-1)

    before = total_logprobs()
    update_policy(model, torch.optim.AdamW(model.model.parameters(), lr=1e-3), rows, resolve("micro"))
    after = total_logprobs()
    assert after[0] > before[0] and after[1] < before[1]


@pytest.mark.parametrize("mini_batches", [1, 2])
def test_skipping_zero_advantage_rows_changes_neither_update_nor_diagnostics(policy, mini_batches, monkeypatch):
    """All-0/all-1 groups have Â = 0: no backward pass for them, the same weights, momentum and metrics.

    (SGD, as above: Adam's first steps turn float-order noise in near-zero gradients into lr-sized moves.)"""
    rows = _rows(policy)
    advantages = rows.advantages.clone()
    advantages[::3] = 0.0  # a third of the rows carry no signal
    informative = Rows(rows.encodings, rows.members, advantages)
    silent = Rows(rows.encodings, rows.members, torch.zeros_like(advantages))  # a step where every group is flat
    results, rows_with_gradient = [], []
    real_stats = micro_batches.response_token_stats

    def spy(policy_, batch, *args, **kwargs):
        if torch.is_grad_enabled():
            rows_with_gradient[-1] += batch.input_ids.shape[0]
        return real_stats(policy_, batch, *args, **kwargs)

    monkeypatch.setattr(micro_batches, "response_token_stats", spy)
    for skip in (False, True):
        rows_with_gradient.append(0)
        config = resolve(
            "micro",
            overrides=[
                f"trainer.skip_zero_advantage={str(skip).lower()}",
                f"trainer.mini_batches={mini_batches}",
                "trainer.micro_batch_size=4",
                "trainer.grad_clip=1e9",
            ],
        )
        copy_ = copy.deepcopy(policy)
        optimizer = torch.optim.SGD(copy_.model.parameters(), lr=1.0, momentum=0.9)
        first = update_policy(copy_, optimizer, informative, config)
        second = update_policy(copy_, optimizer, silent, config)  # still moves on its momentum
        results.append((copy_.model.state_dict(), first, second))
    (a, a1, a2), (b, b1, b2) = results
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    for x, y in ((a1, b1), (a2, b2)):
        for name in ("policy/loss", "policy/entropy", "policy/approx_kl", "policy/clip_frac", "policy/grad_norm"):
            assert x[name] == pytest.approx(y[name], rel=1e-5, abs=1e-7), name
        assert x["train/tokens"] == y["train/tokens"]
    assert a1["policy/entropy"] > 0.1  # a real entropy, measured on every token in both modes
    # backward passes: every row of both updates, against the informative rows and one row per mini-batch of the
    # silent step
    assert rows_with_gradient == [2 * len(advantages), int((advantages != 0).sum()) + mini_batches]
