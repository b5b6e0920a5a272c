"""Fuzz (hypothesis, bounded, derandomized): one row of a real benchmark file mangled at random — a field replaced
by any JSON value or removed, bytes flipped or cut — for every file-backed benchmark.

Property: loading raises a BadRow naming the file and row (or another one-line UserError), never anything else;
with ``skip_bad`` the mangled row is skipped and every other row still loads.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from benchmark_fixtures import write_all
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from npo_bench.benchmark import make_benchmark
from npo_bench.errors import UserError
from npo_bench_benchmarks.common.errors import BadRow

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
BENCHMARKS = ("mathvista", "mmstar", "mmbench", "mathverse", "mmmu_pro", "mathvision", "wemath", "zerobench")

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["inf", "nan", "-1", "1e309", "[1, 2]", '{"a": 1}', "A", "", " ", "images/missing.png"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=5,
)


@pytest.fixture(scope="module")
def data_root():
    with tempfile.TemporaryDirectory() as folder:
        yield write_all(Path(folder))


def _split_file(name: str, root: Path) -> tuple[object, str, Path]:
    bench = make_benchmark(name, {"data": str(root / name)})
    split = bench.default_split
    return bench, split, root / name / f"{bench.source(split).stem}.jsonl"


existing_or_new_key = st.one_of(st.integers(min_value=0, max_value=100), st.text(max_size=12))
mangles = st.one_of(
    st.tuples(st.just("set"), existing_or_new_key, json_values),
    st.tuples(st.just("drop"), st.integers(min_value=0, max_value=100), st.none()),
    st.tuples(st.just("bytes"), st.integers(min_value=0, max_value=10**6), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("cut"), st.integers(min_value=0, max_value=10**6), st.none()),
)


def _mangled(line: bytes, kind: str, where, value) -> bytes:
    if kind in ("set", "drop"):
        fields = json.loads(line)
        key = sorted(fields)[where % len(fields)] if isinstance(where, int) else where
        if kind == "set":
            fields[key] = value
        else:
            fields.pop(key)
        return (json.dumps(fields) + "\n").encode()
    at = where % max(len(line) - 1, 1)
    return line[:at] + value + line[at:] if kind == "bytes" else line[:at] + b"\n"


@FUZZ
@given(name=st.sampled_from(BENCHMARKS), row=st.integers(min_value=0, max_value=50), mangle=mangles)
def test_a_mangled_row_is_a_named_bad_row_and_skippable(data_root, name, row, mangle):
    bench, split, path = _split_file(name, data_root)
    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    index = row % len(lines)
    lines[index] = _mangled(lines[index], *mangle)
    try:
        path.write_bytes(b"".join(lines))
        try:
            bench.load(split, None, 0)
        except BadRow as exc:
            assert path.name in exc.message and " row " in exc.message, exc.message
            assert "\n" not in exc.one_line()
        except UserError as exc:
            assert "\n" not in exc.one_line()
        skipping = make_benchmark(name, {"data": str(path.parent), "skip_bad": True})
        try:
            skipping.load(split, None, 0)
        except UserError as exc:
            assert not isinstance(exc, BadRow), exc.message  # every bad row is skippable
        assert len(skipping.skipped) <= 2  # the mangled row (a cut may also merge it with the next line)
    finally:
        path.write_bytes(original)
