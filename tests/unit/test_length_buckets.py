"""Micro-batches: length-sorted, capped in rows and in padded response tokens."""

from npo_bench.policy.micro_batches import length_buckets

LENGTHS = [30, 5, 100, 20, 31, 6, 210, 32]


def test_rows_cap_only_cuts_the_sorted_order():
    assert length_buckets(LENGTHS, range(8), max_rows=3, max_tokens=0) == [[1, 5, 3], [0, 4, 7], [2, 6]]


def test_token_cap_gives_long_rows_smaller_micro_batches():
    # sorted: 5, 6, 20, 30, 31, 32, 100, 210; cap 100 padded tokens: 3×20=60 ok, 4×30=120 no → cut; 3×32=96 ok;
    # 100 alone (1×100); 210 over the cap, still alone
    assert length_buckets(LENGTHS, range(8), max_rows=64, max_tokens=100) == [[1, 5, 3], [0, 4, 7], [2], [6]]


def test_short_rows_fill_whole_micro_batches_under_the_default_cap():
    lengths = [32] * 128 + [20] * 5  # GRPO at the tiny-cpu response cap: the token cap never binds
    buckets = length_buckets(lengths, range(133), max_rows=64, max_tokens=64 * 32)
    assert [len(b) for b in buckets] == [64, 64, 5]


def test_only_the_given_indices_are_bucketed():
    assert length_buckets(LENGTHS, [6, 2, 1], max_rows=2, max_tokens=0) == [[1, 2], [6]]
