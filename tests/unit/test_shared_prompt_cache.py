"""``repeat_cache_rows`` (npo_bench/policy/shared_prompt.py): each batch row gets its prompt's KV-cache entry, and the
copies' gradients add up in one fixed order, whatever the thread timing."""

import pytest
import torch
from transformers import DynamicCache

from npo_bench.policy.shared_prompt import repeat_cache_rows

PROMPTS, ROWS, SHAPE = 8, 64, (2, 40, 16)  # keys of (64, 2, 40, 16) = 81 920 elements ≥ torch's parallel grain


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _owner() -> torch.Tensor:
    """(64,) rows of 8 prompts in a shuffled order, so that one prompt's copies fall in both threads' halves."""
    rows = torch.arange(PROMPTS).repeat_interleave(ROWS // PROMPTS)
    return rows[torch.randperm(ROWS, generator=torch.Generator().manual_seed(5))]


def _gradients(owner: torch.Tensor, upstream: list[torch.Tensor]) -> list[torch.Tensor]:
    keys = torch.randn(PROMPTS, *SHAPE, generator=torch.Generator().manual_seed(0), requires_grad=True)
    values = torch.randn(PROMPTS, *SHAPE, generator=torch.Generator().manual_seed(1), requires_grad=True)
    cache = DynamicCache()
    cache.update(keys, values, 0)
    repeat_cache_rows(cache, owner)
    layer = cache.layers[0]
    assert torch.equal(layer.keys, keys[owner]) and torch.equal(layer.values, values[owner])
    ((layer.keys * upstream[0]).sum() + (layer.values * upstream[1]).sum()).backward()
    return [keys.grad, values.grad]


def test_each_row_gets_its_prompts_entry_and_copies_add_their_gradients_in_row_order(two_threads):
    owner = _owner()
    generator = torch.Generator().manual_seed(2)
    upstream = [torch.randn(ROWS, *SHAPE, generator=generator) for _ in range(2)]
    expected = []
    for g in upstream:  # zeros + the first copy + the second copy + … in row order
        total = torch.zeros(PROMPTS, *SHAPE)
        for row, prompt in enumerate(owner.tolist()):
            total[prompt] += g[row]
        expected.append(total)
    for _ in range(6):  # parallel atomic adds (the old ``Cache.batch_select_indices`` backward) vary between repeats
        for got, want in zip(_gradients(owner, upstream), expected, strict=True):
            assert torch.equal(got, want)


def test_an_empty_layer_stays_empty():
    cache = DynamicCache()
    cache.update(torch.zeros(2, 1, 0, 4), torch.zeros(2, 1, 0, 4), 0)
    repeat_cache_rows(cache, torch.tensor([0, 0, 1]))
    assert cache.layers[0].keys.shape[0] == 2
