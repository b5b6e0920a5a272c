"""The prompt stream is a pure function of the step."""

from npo_bench.trainer.data import PromptStream
from npo_bench.types import Prompt


def _prompts(n):
    return [Prompt(f"p{i}", "q", "1") for i in range(n)]


def test_each_epoch_is_a_permutation_and_batches_tile_it():
    stream = PromptStream(_prompts(10), batch_size=5, seed=3)
    epoch0 = [p.id for p in stream.batch(1) + stream.batch(2)]
    epoch1 = [p.id for p in stream.batch(3) + stream.batch(4)]
    assert sorted(epoch0) == sorted(f"p{i}" for i in range(10))
    assert sorted(epoch1) == sorted(epoch0) and epoch1 != epoch0


def test_replay_is_identical_and_independent_of_history():
    a = PromptStream(_prompts(7), batch_size=3, seed=1)
    b = PromptStream(_prompts(7), batch_size=3, seed=1)
    first = [p.id for p in a.batch(5)]
    for step in range(1, 5):
        b.batch(step)
    assert [p.id for p in b.batch(5)] == first


def test_seed_changes_the_order():
    orders = {tuple(p.id for p in PromptStream(_prompts(12), 12, seed=s).batch(1)) for s in range(4)}
    assert len(orders) == 4


def test_between_lists_unique_prompts_of_steps_in_order():
    stream = PromptStream(_prompts(4), batch_size=3, seed=0)
    ids = [p.id for p in stream.between(0, 2)]
    expected = []
    for p in stream.batch(1) + stream.batch(2):
        if p.id not in expected:
            expected.append(p.id)
    assert ids == expected
    assert len(ids) == 4
