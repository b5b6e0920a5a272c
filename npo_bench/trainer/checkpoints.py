"""Save and restore the whole training state; every checkpoint is also a loadable HF model directory.

A checkpoint folder holds ``save_pretrained`` model + processor files (so ``from_pretrained`` and ``npo-bench eval``
read it directly) and ``trainer_state.pt``: optimizer state, RNG states (python, numpy, torch, cuda), the step, the
log line counts to truncate to on resume, and the guidance source's state. Folders are written under a temporary
name and renamed into place, and ``latest.json`` is updated last, so a kill at any moment leaves the previous
checkpoint intact and the newest complete one discoverable.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from npo_bench.errors import UserError
from npo_bench.runs import atomic_write_json
from npo_bench.types import CheckpointRef

STATE_FILE = "trainer_state.pt"
LATEST = "latest.json"


def capture_rng() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(folder: Path, tag: str, model: Any, processor: Any, trainer_state: dict[str, Any]) -> CheckpointRef:
    """Write ``folder/tag`` atomically and point ``latest.json`` at it."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / tag
    staging = folder / f".{tag}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    if processor is not None:
        processor.save_pretrained(staging)
    torch.save(trainer_state, staging / STATE_FILE)
    if final.exists():  # re-saving a tag (a replayed segment): swap, then drop the old one
        trash = folder / f".{tag}.old"
        shutil.rmtree(trash, ignore_errors=True)
        final.rename(trash)
        staging.rename(final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        staging.rename(final)
    step = int(trainer_state["step"])
    atomic_write_json(folder / LATEST, {"tag": tag, "step": step})
    return CheckpointRef(step=step, tag=tag, path=final)


def load_trainer_state(ref: CheckpointRef) -> dict[str, Any]:
    path = ref.path / STATE_FILE
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise UserError(f"checkpoint {ref.path} is incomplete: {STATE_FILE} is missing") from None
    except Exception as exc:  # a truncated or foreign file
        raise UserError(f"checkpoint {path} is corrupt: {type(exc).__name__}: {exc}") from None


def load_weights(ref: CheckpointRef) -> dict[str, torch.Tensor]:
    """The model state dict saved in ``ref`` (safetensors shards written by ``save_pretrained``)."""
    from safetensors.torch import load_file

    files = sorted(ref.path.glob("*.safetensors"))
    if not files:
        raise UserError(f"checkpoint {ref.path} has no *.safetensors weights")
    weights: dict[str, torch.Tensor] = {}
    for file in files:
        try:
            weights.update(load_file(file))
        except Exception as exc:
            raise UserError(f"checkpoint weights {file} are corrupt: {exc}") from None
    return weights


def load_weights_into(model: Any, weights: dict[str, torch.Tensor], origin: Path) -> None:
    """Load ``weights`` into ``model``; only tied parameters (lm_head = embeddings) may be absent from the file."""
    result = model.load_state_dict(weights, strict=False)
    shared = {id(p) for name, p in model.named_parameters() if name in weights}
    params = dict(model.named_parameters(remove_duplicate=False))
    missing = [k for k in result.missing_keys if not (k in params and id(params[k]) in shared)]
    if missing or result.unexpected_keys:
        unexpected = result.unexpected_keys[:3]
        raise UserError(f"checkpoint {origin} does not match the model: missing {missing[:3]}, unexpected {unexpected}")


def latest_checkpoint(folder: Path) -> CheckpointRef | None:
    pointer = folder / LATEST
    if not pointer.exists():
        return None
    try:
        data = json.loads(pointer.read_text())
        ref = CheckpointRef(step=int(data["step"]), tag=str(data["tag"]), path=folder / str(data["tag"]))
    except (json.JSONDecodeError, KeyError, ValueError) as exc:
        raise UserError(f"{pointer} is corrupt ({exc})") from None
    if not (ref.path / STATE_FILE).exists():
        raise UserError(f"{pointer} points at {ref.path}, which is incomplete or missing")
    return ref


def prune_checkpoints(folder: Path, keep: int, protect: set[str]) -> None:
    """Delete all but the newest ``keep`` periodic ``step-*`` checkpoints (0 = keep all); never ``protect``-ed tags."""
    if keep <= 0:
        return
    periodic = sorted(p for p in folder.glob("step-*") if p.is_dir() and p.name not in protect)
    for old in periodic[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def resolve_model_checkpoint(path: Path, tag: str) -> CheckpointRef:
    """A loadable weights directory from a run directory (its newest checkpoint), a checkpoint or a model directory.

    Used by sources that sample from *another* model of the policy's architecture (RLEP's finished run, a teacher).
    """
    if not path.exists():
        raise UserError(
            f"{tag} model {path} does not exist", hint="pass a run directory, a checkpoint or a model directory"
        )
    if (path / "checkpoints").is_dir():
        ref = latest_checkpoint(path / "checkpoints")
        if ref is None:
            raise UserError(f"{tag} run {path} has no finished checkpoint (checkpoints/{LATEST} is missing)")
        return CheckpointRef(ref.step, f"{tag}@{ref.tag}", ref.path)
    if not any(path.glob("*.safetensors")):
        raise UserError(
            f"{tag} model {path} has no *.safetensors weights", hint="pass a run directory or a model directory"
        )
    return CheckpointRef(-1, tag, path)
