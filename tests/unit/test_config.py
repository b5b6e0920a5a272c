"""Config schema: presets, overrides, unknown keys and wrong types are errors with hints."""

import pytest

from npo_bench.config import config_hash, explain, from_dict, to_dict
from npo_bench.errors import UserError
from npo_bench.presets import parse_override, resolve


def test_tiny_cpu_preset_resolves_with_defaults_filled():
    config = resolve("tiny-cpu")
    assert config.preset == "tiny-cpu"
    assert config.rollout.n == 8
    assert config.trainer.clip_eps_low == 0.2 and config.trainer.clip_eps_high == 0.28
    assert config.model.tiny.arch == "qwen3_vl"


def test_micro_extends_tiny_cpu():
    micro = resolve("micro")
    assert micro.trainer.steps == 6
    assert micro.model.tiny.arch == "qwen3_vl"  # inherited
    assert micro.model.tiny.hidden_size == 64  # overridden


def test_dotted_overrides_are_typed():
    config = resolve(
        "micro", overrides=["trainer.lr=1e-6", "rollout.n=4", "source.options.delta=20", "model.path=null"]
    )
    assert config.trainer.lr == pytest.approx(1e-6) and isinstance(config.trainer.lr, float)
    assert config.source.options == {"delta": 20}
    assert config.model.path is None


def test_int_is_accepted_for_float_fields():
    assert resolve("micro", overrides=["trainer.lr=1"]).trainer.lr == 1.0


def test_unknown_key_names_it_with_did_you_mean():
    with pytest.raises(UserError) as info:
        resolve("micro", overrides=["trainer.lrr=1e-6"])
    assert "trainer.lrr" in str(info.value) and "'lr'" in str(info.value)


def test_wrong_type_is_an_error_naming_the_field():
    with pytest.raises(UserError, match=r"rollout\.n: expected int, got str"):
        resolve("micro", overrides=["rollout.n=eight"])
    with pytest.raises(UserError, match="expected int, got bool"):
        from_dict({"seed": True})


def test_unknown_preset_suggests_known_ones():
    with pytest.raises(UserError, match="unknown preset 'tiny-cp'.*tiny-cpu"):
        resolve("tiny-cp")


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer:\n  stepz: 3\n")
    with pytest.raises(UserError, match=r"bad\.yaml.*unknown key 'stepz'"):
        resolve("micro", config_file=bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("trainer: [\n")
    with pytest.raises(UserError, match="broken.yaml: invalid YAML"):
        resolve("micro", config_file=broken)


def test_config_file_layers_between_preset_and_overrides(tmp_path):
    layer = tmp_path / "layer.yaml"
    layer.write_text("trainer:\n  steps: 9\n  lr: 0.5\n")
    config = resolve("micro", config_file=layer, overrides=["trainer.lr=0.25"])
    assert (config.trainer.steps, config.trainer.lr) == (9, 0.25)


def test_override_syntax_errors():
    with pytest.raises(UserError, match="expected KEY=VALUE"):
        parse_override("trainer.lr")
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])


def test_round_trip_and_hash_are_stable():
    config = resolve("micro")
    assert from_dict(to_dict(config)) == config
    assert config_hash(config) == config_hash(from_dict(to_dict(config)))
    assert config_hash(config) != config_hash(resolve("micro", overrides=["seed=1"]))


def test_every_field_is_documented():
    rows = explain()
    assert len(rows) > 40
    assert all(help_text for _, _, help_text in rows), [key for key, _, h in rows if not h]
