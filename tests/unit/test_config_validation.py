"""Every setting and model directory is checked before anything is written: one line naming the field, no run
directory left behind (the probes of issue #19, each as a user would type it)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from npo_bench import config as config_module
from npo_bench.cli import main
from npo_bench.config import RunConfig, explain, from_dict, to_dict
from npo_bench.errors import UserError
from npo_bench.presets import resolve


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def _run(tmp_path, *argv: str) -> int:
    return main(["run", "--preset", "micro", "--runs-dir", str(tmp_path / "runs"), *argv])


NEAR_FUTURE = ("--source", "near_future")
AUTO = ("--source", "near_future", "--auto")

PROBES = [
    # (argv, words the one line must contain)
    (["--set", "rollout.n=0"], "rollout.n=0: must be ≥ 2"),
    (["--set", "rollout.n=-1"], "rollout.n=-1: must be ≥ 2"),
    (["--set", "trainer.save_every=0"], "trainer.save_every=0: must be ≥ 1"),
    (["--set", "eval.batch_size=0"], "eval.batch_size=0: must be ≥ 1"),
    (["--set", "rollout.prompts_per_step=0"], "rollout.prompts_per_step=0: must be ≥ 1"),
    (["--set", "task.train_size=0"], "task.train_size=0: must be ≥ 1"),
    (["--set", "model.dtype=float64"], "model.dtype='float64': must be one of float32, bfloat16, float16"),
    (["--set", "trainer.lr_schedule=bogus"], "trainer.lr_schedule='bogus': must be one of constant, cosine"),
    (["--set", "warmup.lr_schedule=bogus"], "warmup.lr_schedule='bogus'"),
    (["--set", "model.decoder=bogus"], "model.decoder='bogus': must be one of compact, generate"),
    (["--set", "model.device=gpu"], "model.device='gpu'"),
    (["--set", "verifier=bogus"], "verifier='bogus': must be one of auto"),
    (["--set", "trainer.lr=.nan"], "trainer.lr=nan: must be a number"),
    (["--set", "trainer.lr=nan"], "trainer.lr: expected float, got str"),
    (["--set", "rollout.top_p=0"], "rollout.top_p=0.0: must be > 0 and ≤ 1"),
    (["--set", "trainer.betas=[0.9, 1.5]"], "trainer.betas=[0.9, 1.5]"),
    (["--set", "model.min_pixels=999999"], "model.min_pixels=999999 > model.max_pixels"),
    (["--set", "task.prompt_template='{question} {foo}'"], "task.prompt_template='{question} {foo}': not a template"),
    (["--set", "task.prompt_template=no question"], "must contain {question}"),
    (["--set", "task.options.levels=[7]"], "synthetic: unknown level 7"),
    (["--steps", "0"], "trainer.steps=0: must be ≥ 1"),
    (["--seed", "-3"], "seed=-3: must be ≥ 0"),
    ([*NEAR_FUTURE, "--set", "source.options.harvest_k=abc"], "option harvest_k='abc': expected int, got str"),
    ([*NEAR_FUTURE, "--set", "source.options.schedule=abc"], "option schedule='abc': expected a list, got str"),
    ([*NEAR_FUTURE, "--set", "source.options.schedule=5"], "option schedule=5: expected a list, got int"),
    ([*NEAR_FUTURE, "--set", "source.options.schedule=[5]"], "bad schedule entry 5"),
    ([*NEAR_FUTURE, "--set", "source.options.schedule=[{kind: early, at: x, delta: 2}]"], "bad schedule entry"),
    ([*AUTO, "--set", "source.options.ema_beta=abc"], "option ema_beta='abc': expected float, got str"),
    ([*AUTO, "--set", "source.options.ema_beta=1"], "option ema_beta=1: must be ≥ 0 and < 1"),
    (
        [*AUTO, "--set", "source.options.min_delta=50", "--set", "source.options.max_delta=20"],
        "min_delta=50 > max_delta=20",
    ),
    ([*AUTO, "--set", "source.options.window=0"], "option window=0: must be ≥ 1"),
    ([*AUTO, "--set", "source.options.probe_prompts=-1"], "option probe_prompts=-1: must be ≥ 1"),
    (
        [*AUTO, "--set", "source.options.min_solved=9", "--set", "source.options.probe_prompts=4"],
        "min_solved=9 > probe_prompts=4",
    ),
    (["--method", "npo", "--auto"], "schedule is not used with auto=true"),
    (["--auto"], "source 'grpo' has no option 'auto'"),
    (
        ["--source", "past_replay", "--set", "source.options.experience_ratio=2"],
        "experience_ratio=2: must be ≥ 0 and ≤ 1",
    ),
    (["--source", "far_future"], "needs source.options.run"),
    (["--source", "external_teacher", "--set", "source.options.from=web"], "option from='web': must be one of"),
]


@pytest.mark.parametrize("argv, expected", PROBES, ids=[" ".join(a) for a, _ in PROBES])
def test_a_bad_setting_is_one_line_naming_the_field_and_leaves_nothing(argv, expected, tmp_path, capsys):
    assert _run(tmp_path, *argv) == 2
    assert expected in _error_line(capsys)
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu(tmp_path, capsys):
    assert _run(tmp_path, "--set", "model.device=cuda") == 2
    assert "model.device='cuda': no CUDA device is available" in _error_line(capsys)
    assert not (tmp_path / "runs").exists()


def test_a_binary_config_file(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_bytes(bytes(range(256)))
    assert _run(tmp_path, "--config", str(path)) == 2
    assert f"{path}: not a YAML text file" in _error_line(capsys)


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"config.json": b"\xff\xfe{}"}, "config.json: not UTF-8 text"),
        ({"config.json": b"[1, 2]"}, "config.json: expected a JSON object, got list"),
        ({"config.json": b"{"}, "config.json: not valid JSON"),
        ({"config.json": b'{"model_type": 3}'}, "field 'model_type' is missing or not a string"),
        ({"config.json": b'{"model_type": "qwen3"}', "tokenizer.json": b"{}"}, "has no weights"),
        (
            {"config.json": b'{"model_type": "qwen3"}', "tokenizer.json": b"{}", "model.safetensors": b"\x10\x00"},
            "model.safetensors: not a readable safetensors file",
        ),
        ({"config.json": b'{"model_type": "qwen3"}', "model.safetensors": b""}, "not a readable safetensors"),
        (
            {"config.json": b'{"model_type": "qwen3"}', "tokenizer.json": b"{}", "model.safetensors": None},
            "model.safetensors: cannot read it (No such file or directory)",
        ),
    ],
)
def test_a_bad_model_directory_is_one_line_and_leaves_nothing(files, expected, tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    for name, data in files.items():
        if data is None:  # a dangling link: an HF cache snapshot whose blob is gone
            (model / name).symlink_to(tmp_path / "gone")
        else:
            (model / name).write_bytes(data)
    assert _run(tmp_path, "--set", f"model.path={model}", "--set", "warmup.enabled=false") == 2
    assert expected in _error_line(capsys)
    assert not (tmp_path / "runs").exists()


def test_config_flags_on_a_resume_are_an_error(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("resolved: {}\n")
    for flags in (["--steps", "40"], ["--set", "trainer.lr=1"], ["--seed", "2"], ["--preset", "micro"], ["--dry-run"]):
        assert main(["run", "--resume", str(run), *flags]) == 2
        assert "cannot be combined with --resume" in _error_line(capsys)


def test_every_default_passes_its_own_checks():
    from_dict(to_dict(RunConfig()))
    for preset in ("tiny-cpu", "micro"):
        resolve(preset)
    for method in ("grpo", "npo", "npo_early", "autonpo", "luffy", "exgrpo"):
        resolve("micro", method=method)


def test_choices_agree_with_the_registries_the_code_uses():
    from npo_bench.grpo.advantages import ADVANTAGE_ESTIMATORS
    from npo_bench.grpo.losses import LOSS_AGGREGATIONS
    from npo_bench.grpo.schedules import LR_SCHEDULES
    from npo_bench.policy.loading import DECODERS, DTYPES
    from npo_bench.policy.tiny import TINY_ARCHS

    assert set(config_module.LR_SCHEDULE_CHOICES) == set(LR_SCHEDULES)
    assert set(config_module.LOSS_AGG_CHOICES) == set(LOSS_AGGREGATIONS)
    assert set(config_module.ADVANTAGE_CHOICES) == set(ADVANTAGE_ESTIMATORS)
    assert set(config_module.DTYPE_CHOICES) == set(DTYPES)
    assert set(config_module.DECODER_CHOICES) == set(DECODERS)
    assert set(config_module.TINY_ARCH_CHOICES) == set(TINY_ARCHS)


def test_every_numeric_field_has_a_range_or_says_why_not():
    """A new number without a constraint is a probe waiting to happen: list the deliberate exceptions."""
    unconstrained = {"model.tiny.init_seed", "task.seed", "warmup.seed", "warmup.target_pass_rate"}
    missing = []
    for cls in (RunConfig, *{type(v) for v in vars(RunConfig()).values() if dataclasses.is_dataclass(v)}):
        for field in dataclasses.fields(cls):
            if field.type in ("int", "float", "int | None", "float | None"):
                check = field.metadata.get("check")
                if check is None or not check.describe():
                    missing.append(field.name)
    rows = {key for key, _, _ in explain()}
    assert not [m for m in missing if not any(k.endswith("." + m) or k == m for k in unconstrained)], missing
    assert "rollout.n" in rows


def test_the_error_names_the_config_file_for_a_resumed_run(tmp_path):
    data = to_dict(resolve("micro"))
    data["rollout"]["n"] = 0
    with pytest.raises(UserError, match=r"rollout\.n=0"):
        from_dict(json.loads(json.dumps(data)), where=str(tmp_path / "config.yaml"))
