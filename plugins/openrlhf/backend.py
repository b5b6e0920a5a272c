"""``npo-bench run --backend openrlhf``: resolve the OpenRLHF flags, export the prompts, start the stock
``train_ppo_ray`` entry on Ray with the guided classes; ``--dry-run`` prints the flags and the Ray job instead.

Importing this module imports no OpenRLHF, Ray, DeepSpeed or vLLM; ``launch`` does, after checking they exist.
"""

from __future__ import annotations

import json
import os
import runpy
import shlex
import sys
from pathlib import Path
from typing import Any

from npo_bench.config import RunConfig
from npo_bench.errors import UserError
from npo_bench_plugins.openrlhf import availability
from npo_bench_plugins.openrlhf.flags import (
    ENTRY_MODULE,
    JobPaths,
    config_flags,
    parse_with_stock_parser,
    pass_through,
    refuse_in_argv,
)
from npo_bench_plugins.openrlhf.job import Job
from npo_bench_plugins.openrlhf.options import resolve_options

AGENT_FILE = Path(__file__).with_name("agent.py")


class OpenRLHFBackend:
    """OpenRLHF 0.11.2 on Ray: vLLM rollouts, DeepSpeed actor, npo-bench's guidance, rewards and run directory."""

    # the actors train on the cluster's nodes: model.device and model.path are theirs, not the launching machine's
    # (a head node without a GPU, a --dry-run on a laptop); the preflight leaves those checks to them
    trains_in_this_process = False

    @staticmethod
    def validate_options(config: RunConfig) -> dict[str, Any]:
        opts = resolve_options(config.backend_options)
        if config.rollout.n < 2:
            raise UserError("backend 'openrlhf': rollout.n must be ≥ 2 (group advantages)")
        if config.model.path and Path(config.model.path).is_dir():  # on a cluster it may live on the nodes only
            refuse_remote_code(Path(config.model.path))
        return opts

    @classmethod
    def argv(cls, config: RunConfig, run_dir: Path) -> list[str]:
        """The complete ``train_ppo_ray`` argv of a run (config flags, then pass-through flags)."""
        opts = cls.validate_options(config)
        job = Job(run_dir)
        model = Path(config.model.path) if config.model.path else run_dir / "openrlhf" / "base-model"
        paths = JobPaths(model=model, dataset=job.dataset, agent=AGENT_FILE, deepspeed=job.deepspeed)
        argv = config_flags(config, opts, paths, is_vlm=True) + pass_through(opts["flags"])
        refuse_in_argv(argv)
        return argv

    @classmethod
    def dry_run(cls, config: RunConfig) -> str:
        run_dir = Path(config.runs_dir) / (config.name or "<run-name>")
        argv = cls.argv(config, run_dir)
        opts = resolve_options(config.backend_options)
        missing = availability.missing()
        if any("openrlhf" in reason for reason in missing):
            check = f"not checked: {missing[0]}"
        else:
            parse_with_stock_parser(argv)
            check = "accepted by openrlhf's own parser and checks"
        address = opts["ray_address"] or os.environ.get("RAY_ADDRESS") or "a local Ray started by the launch"
        cpu = opts["device"] == "cpu"
        lines = [
            "# npo-bench → OpenRLHF (backend 'openrlhf'); nothing was started",
            f"ray job:    {address}; runtime_env.env_vars = {Job(run_dir).env()}",
            f"entry:      python -m {ENTRY_MODULE} (stock) with GuidedPPOTrainer + GuidedPolicyModelActor",
            f"resources:  {'CPU (shim, logical GPUs), ' if cpu else ''}"
            f"actor {opts['nodes']}×{opts['gpus_per_node']} GPUs, {'HF' if cpu else 'vLLM'} engines "
            f"{opts['vllm_engines'] or opts['nodes'] * opts['gpus_per_node'] // opts['vllm_tensor_parallel']} "
            f"(TP {opts['vllm_tensor_parallel']}){', colocated' if opts['colocate'] else ''}",
            f"source:     {config.source.name} {dict(config.source.options) or ''}".rstrip(),
            f"flags:      {check}",
        ]
        lines += [f"  {line}" for line in _pairs(argv)]
        return "\n".join(lines) + "\n"

    @classmethod
    def launch(cls, config: RunConfig, run: Any, resume: bool) -> dict[str, float]:
        """Run the job to the end (blocks), holding the run's lock throughout; returns the final evaluation's scores.
        Resuming a finished run reports its final evaluation and starts nothing (as the embedded backend does)."""
        from npo_bench.trainer import checkpoints
        from npo_bench.trainer.resume import finished_scores, writing

        opts = resolve_options(config.backend_options)
        with writing(run, resume):  # a new run that fails before its first checkpoint is removed
            missing = availability.missing(need_vllm=opts["device"] != "cpu")
            if missing:
                raise UserError(f"backend 'openrlhf' is unavailable here: {'; '.join(missing)}")
            if resume:
                candidates, _ = checkpoints.resume_candidates(run.checkpoints)
                done = finished_scores(run, config.trainer.steps, candidates[0].step) if candidates else None
                if done is not None:
                    print(f"{run.path} is already finished (step {candidates[0].step}): nothing to do", file=sys.stderr)
                    return done
            return cls._run_job(config, run, resume, cpu=opts["device"] == "cpu", opts=opts)

    @classmethod
    def _run_job(cls, config: RunConfig, run: Any, resume: bool, cpu: bool, opts: dict[str, Any]) -> dict[str, float]:
        from npo_bench.trainer.warmup import base_model_dir
        from npo_bench_plugins.openrlhf.job import export_prompts

        job = Job(run.path, resume)
        if not config.model.path:  # the tiny default: the embedded warm-up's base, copied into the run
            _link_base(base_model_dir(config, lambda line: print(line, file=sys.stderr)), run.path / "openrlhf")
        refuse_remote_code(Path(config.model.path) if config.model.path else run.path / "openrlhf" / "base-model")
        if not job.dataset.exists():
            export_prompts(job, job.train_prompts)
        argv = cls.argv(config, run.path)
        if cpu:  # before anything imports OpenRLHF: its CUDA-only device calls go to the CPU (docs/backends.md)
            from npo_bench_plugins.openrlhf import cpu_shim

            cpu_shim.install()
            from npo_bench_plugins.openrlhf import hf_engine

            hf_engine.install()
        from npo_bench_plugins.openrlhf import trainer
        from npo_bench_plugins.openrlhf.processors import register_torchvision_free_processors

        register_torchvision_free_processors()  # create_vllm_engines reads the processor in this process
        parse_with_stock_parser(argv)  # OpenRLHF's own checks fail in one line before Ray starts (as --dry-run does)
        started = _start_ray(opts, job)
        trainer.install()
        saved = sys.argv
        sys.argv = ["train_ppo_ray", *argv]
        try:
            runpy.run_module(ENTRY_MODULE, run_name="__main__", alter_sys=False)
        except Exception as exc:  # a Ray task error's text is the whole remote traceback: say the cause in one line
            cause = remote_cause(exc)
            if isinstance(cause, UserError):
                raise cause from None
            raise
        finally:
            sys.argv = saved
            if started:
                import ray

                ray.shutdown()
        return _final_scores(run.path)


def remote_cause(exc: BaseException) -> BaseException:
    """The exception a Ray actor raised, unwrapped from ``RayTaskError``/``RayActorError`` layers (``.cause``)."""
    seen = 0
    while getattr(exc, "cause", None) is not None and isinstance(exc.cause, BaseException) and seen < 16:
        exc, seen = exc.cause, seen + 1
    return exc


def _pairs(argv: list[str]) -> list[str]:
    """One flag and its values per line."""
    lines: list[list[str]] = []
    for token in argv:
        if token.startswith("--") or not lines:
            lines.append([token])
        else:
            lines[-1].append(token)
    return [" ".join(shlex.quote(t) for t in line) for line in lines]


# files whose ``auto_map`` makes transformers import Python code from the model directory: OpenRLHF loads the
# actor, the processor and the vLLM engines with ``trust_remote_code=True`` (models/actor.py, utils/utils.py)
REMOTE_CODE_FILES = (
    "config.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "video_preprocessor_config.json",
)


def refuse_remote_code(model: Path) -> None:
    """A model directory (or a run's base model) that would make OpenRLHF run its own Python code is refused: a
    model folder is data and must never execute (docs/run-directories.md)."""
    for name in REMOTE_CODE_FILES:
        file = model / name
        try:
            data = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
        except (OSError, ValueError) as exc:
            raise UserError(f"{file}: not readable JSON ({type(exc).__name__}: {exc})") from None
        if isinstance(data, dict) and "auto_map" in data:
            raise UserError(
                f"{file} has an auto_map: OpenRLHF loads models with trust_remote_code=True, so this model directory "
                "would run its own Python code; npo-bench refuses it",
                hint="use a model whose architecture transformers ships (Qwen3-VL does), without auto_map",
            )
    if any(model.glob("*.py")):
        raise UserError(f"model directory {model} holds Python files; npo-bench refuses to hand it to OpenRLHF")


def _link_base(base: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "base-model"
    if not target.exists():
        target.symlink_to(base.resolve(), target_is_directory=True)


def _start_ray(opts: dict[str, Any], job: Job) -> bool:
    """Join ``ray_address`` (or $RAY_ADDRESS), else start a local Ray; True when this call started it. A CPU run
    declares logical GPUs (OpenRLHF places its actors with ``num_gpus``) and installs the CPU shim in every worker."""
    env = {**job.env(), "TOKENIZERS_PARALLELISM": "false", "RAY_ENABLE_ZERO_COPY_TORCH_TENSORS": "1"}
    os.environ.update(job.env())
    address = opts["ray_address"] or os.environ.get("RAY_ADDRESS")
    if opts["device"] != "cpu":
        _init_ray(address=address, runtime_env={"env_vars": env})
        return address is None
    from npo_bench_plugins.openrlhf.cpu_shim import ray_init_kwargs

    if address:
        raise UserError("backend 'openrlhf': device=cpu starts its own local Ray (ray_address must be empty)")
    actors = opts["nodes"] * opts["gpus_per_node"]
    engines = opts["vllm_engines"] or actors // opts["vllm_tensor_parallel"]
    kwargs = ray_init_kwargs(num_cpus=actors + engines + 1, gpus=actors + engines)
    kwargs["runtime_env"]["env_vars"] = env
    _init_ray(**kwargs)
    return True


def _init_ray(**kwargs: Any) -> None:
    """``ray.init``; a local start is retried once: Ray gives its raylet a fixed 30 s to register (node.py), which a
    machine busy with other work can miss."""
    import ray

    try:
        ray.init(**kwargs)
    except Exception as exc:
        if kwargs.get("address") or "timed out during startup" not in str(exc):
            raise
        ray.shutdown()
        ray.init(**kwargs)


def _final_scores(run_dir: Path) -> dict[str, float]:
    import json

    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    evals = [r for r in lines if r.get("phase") == "eval"]
    if not evals:
        return {}
    final = {k: v for k, v in evals[-1].items() if k.startswith("eval/")}
    if evals[0].get("step") == 0 and "eval/accuracy" in final:
        final["eval/accuracy_gain"] = final["eval/accuracy"] - evals[0]["eval/accuracy"]
    return final
