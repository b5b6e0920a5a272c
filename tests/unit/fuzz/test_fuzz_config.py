"""Fuzz (hypothesis, bounded, derandomized): random config keys and values, random source options.

Property: whatever a user types, `resolve` + the pre-flight checks either accept it or raise one UserError — never
another exception — and an accepted config satisfies the schema's own constraints (so training never meets it).
"""

from __future__ import annotations

import dataclasses
import math

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from npo_bench.config import RunConfig, explain
from npo_bench.errors import UserError
from npo_bench.host import get_host
from npo_bench.preflight import check_run_inputs, check_source
from npo_bench.presets import resolve

# bounded for CI: fixed examples (derandomized), no example database, no shrinking (a failure prints its input)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

KEYS = [key for key, _, _ in explain()]
SOURCE_OPTION_KEYS = sorted(
    {f"source.options.{name}" for r in get_host().registry("source") for name in getattr(r.load(), "options", {})}
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([0, -1, 1, 2, 3, 10**9]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet="abc{}[]:/.-_ \\'\"\x00é", max_size=12),
    st.sampled_from(["auto", "cpu", "cuda", "float64", "bogus", "constant", "~", "[]", "{}", "../../x", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def render(value) -> str:
    """How a user would type ``value`` after ``--set key=`` (YAML flow style), or a raw string."""
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


keys = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(SOURCE_OPTION_KEYS),
    st.sampled_from(["source.name", "name", "runs_dir", "model.path", "task.options.levels", "task.options.grid"]),
    st.text(alphabet="abcz._", min_size=1, max_size=12),
)
overrides = st.lists(st.tuples(keys, values).map(lambda kv: f"{kv[0]}={render(kv[1])}"), min_size=1, max_size=3)


def _satisfies_schema(config: RunConfig) -> None:
    """Every field of an accepted config passes its own declared check (ranges and choices)."""
    stack = [config]
    while stack:
        node = stack.pop()
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            if dataclasses.is_dataclass(value):
                stack.append(value)
                continue
            check = field.metadata.get("check")
            assert check is None or check.problem(value) is None, (field.name, value)
            assert not (isinstance(value, float) and math.isnan(value)), field.name


@FUZZ
@given(overrides=overrides, source=st.sampled_from(["grpo", "near_future", "past_replay", "external_teacher"]))
def test_any_override_is_accepted_or_one_user_error(overrides, source):
    try:
        config = resolve("micro", overrides=[f"source.name={source}", *overrides])
        check_run_inputs(config)
    except UserError as exc:
        assert exc.message.strip() and "\n" not in exc.one_line(), repr(exc.message)
        return
    _satisfies_schema(config)


option_names = st.sampled_from([key.removeprefix("source.options.") for key in SOURCE_OPTION_KEYS] + ["bogus"])


@FUZZ
@given(
    source=st.sampled_from(sorted(r.name for r in get_host().registry("source"))),
    options=st.dictionaries(option_names, values, max_size=4),
)
def test_any_source_options_are_accepted_or_one_user_error(source, options):
    try:
        check_source(source, options)
    except UserError as exc:
        assert source in str(exc) or "option" in str(exc), str(exc)
