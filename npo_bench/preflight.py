"""Everything about a run that can be checked before a run directory exists.

The config schema already checked every key, type and range (:func:`npo_bench.config.from_dict`); here come the
checks that need the plugins or the machine: the source, backend and benchmark exist and load, the source's options
pass its schema and its own cross-checks, the benchmark accepts its options and yields an item, the device exists,
and a model directory holds a readable config, weights and a tokenizer. A failure is one UserError naming the field,
file or plugin; nothing has been written when it is raised.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from npo_bench.config import RunConfig
from npo_bench.errors import UserError
from npo_bench.host import get_host
from npo_bench.options import fill_options
from npo_bench.policy.model_dir import check_model_dir


def check_run_inputs(config: RunConfig) -> None:
    """Fail before any work (and before a run directory exists) on anything a run would trip over later."""
    host = get_host()
    backend = host.get("backend", config.backend).load()
    validate_backend = getattr(backend, "validate_options", None)  # optional: a backend's own up-front checks
    if validate_backend is not None:
        validate_backend(config)
    check_source(config.source.name, config.source.options)
    check_benchmark(config.task.benchmark, config.task.options, config.task.train_split, config.task.seed, "task")
    check_benchmark(config.task.benchmark, config.task.options, config.task.test_split, config.task.seed, "task")
    if config.warmup.enabled:
        options = {**config.task.options, **config.warmup.options}
        check_benchmark(config.task.benchmark, options, config.warmup.split, config.task.seed, "warmup")
    if getattr(backend, "trains_in_this_process", True):  # a cluster backend's device and model are its nodes'
        check_device(config.model.device, config.model.attn_implementation)
        if config.model.path:
            check_model_dir(Path(config.model.path))


def check_source(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The source's options checked against its ``options`` schema and its ``validate_options`` (if any)."""
    registration = get_host().get("source", name)
    source = registration.load()
    schema = getattr(source, "options", None)
    if schema is None:
        return dict(options)
    if "auto" in options and "auto" not in schema:
        raise UserError(f"source {name!r} has no option 'auto'", hint="--auto needs --source near_future")
    checked = fill_options(name, schema, options)
    validate = getattr(source, "validate_options", None)  # optional: a source's own checks across options
    if validate is not None:
        try:
            validate(dict(options))
        except UserError:
            raise
        except Exception as exc:
            raise UserError(
                f"source {name!r} (plugin {registration.plugin!r}) raised in validate_options: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return checked


def check_benchmark(name: str, options: Mapping[str, Any], split: str, seed: int, field: str) -> None:
    """The benchmark takes ``options`` and yields an item of ``split`` (one item: cheap)."""
    from npo_bench.benchmark import make_benchmark

    benchmark = make_benchmark(name, options)
    try:
        benchmark.load(split, 1, seed)
    except UserError as exc:
        raise UserError(f"{field}: benchmark {name!r} split {split!r}: {exc.message}", hint=exc.hint) from None
    except Exception as exc:
        raise UserError(
            f"{field}: benchmark {name!r} cannot load split {split!r} with options {dict(options)}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def check_device(device: str, attention: str) -> None:
    """``model.device`` exists on this machine; flash attention is installed where it is asked for."""
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"model.device={device!r}: no CUDA device is available", hint="use model.device=cpu")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise UserError(f"model.device={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device == "mps" and not torch.backends.mps.is_available():
        raise UserError("model.device='mps': no MPS device is available", hint="use model.device=cpu")
    if attention == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        raise UserError(
            "model.attn_implementation='flash_attention_2' needs the flash-attn package", hint="or use sdpa"
        )
