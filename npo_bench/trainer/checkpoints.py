"""Save and restore the whole training state; every checkpoint is also a loadable HF model directory.

A checkpoint folder holds ``save_pretrained`` model + processor files (so ``from_pretrained`` and ``npo-bench eval``
read it directly), ``trainer_state.pt`` (optimizer state, RNG states, the step, the log line counts to truncate to on
resume, the guidance source's state) and ``checkpoint.json`` (tag, step, save sequence number, every file's size).

Safety: ``trainer_state.pt`` is read with ``torch.load(..., weights_only=True)``, so it may hold only tensors and
plain data (:mod:`npo_bench.state`) and a crafted file is refused, never executed. RNG states are stored as tensors
and numbers for that reason, and the state is checked for plain data *before* anything is written.

Crash safety: folders are written under a temporary name and renamed into place, and ``latest.json`` is updated last,
so a kill at any moment leaves the previous checkpoint intact. :func:`resume_candidates` lists the intact checkpoints
newest first (by save sequence, which keeps its order across rollbacks): the one ``latest.json`` names, or — when it
is missing, corrupt or names a broken folder — the newest intact one found by scanning.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from npo_bench.errors import UserError
from npo_bench.runs import atomic_write_json
from npo_bench.state import PLAIN_KINDS, first_non_plain
from npo_bench.types import CheckpointRef

STATE_FILE = "trainer_state.pt"
MANIFEST = "checkpoint.json"
LATEST = "latest.json"
MANIFEST_FORMAT = 1
REQUIRED_STATE = ("step", "optimizer", "rng", "source", "metrics_lines", "events_lines")

Log = Callable[[str], None]


class CorruptCheckpoint(UserError):
    """A checkpoint that cannot be used (missing files, truncated, unreadable, or holding more than plain data)."""


# ---- RNG states as tensors and numbers (loadable with weights_only=True) ------------------------------------------


def capture_rng() -> dict[str, Any]:
    """Python, numpy, torch (and CUDA) RNG states as tensors and plain numbers."""
    version, mt, gauss_next = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": {"version": version, "state": torch.tensor(mt, dtype=torch.int64), "gauss_next": gauss_next},
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((int(py["version"]), tuple(int(x) for x in py["state"].tolist()), py["gauss_next"]))
    npy = state["numpy"]
    keys = npy["keys"].numpy().astype(np.uint32)
    np.random.set_state((npy["kind"], keys, int(npy["pos"]), int(npy["has_gauss"]), float(npy["cached_gaussian"])))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---- saving ---------------------------------------------------------------------------------------------------


def check_plain_state(trainer_state: dict[str, Any]) -> None:
    """A UserError naming the first entry of ``trainer_state`` that a weights-only load could not read back."""
    found = first_non_plain(trainer_state)
    if found is not None:
        path, kind = found
        raise UserError(
            f"trainer state{path} is a {kind}: checkpoints hold only {PLAIN_KINDS}",
            hint="convert it in state_dict() (npo_bench.state.trajectory_state does it for trajectories)",
        )


def save_checkpoint(folder: Path, tag: str, model: Any, processor: Any, trainer_state: dict[str, Any]) -> CheckpointRef:
    """Write ``folder/tag`` (HF model and processor files, the trainer state) atomically: :func:`write_checkpoint`."""

    def write_model(staging: Path) -> None:
        model.save_pretrained(staging)
        if processor is not None:
            processor.save_pretrained(staging)

    return write_checkpoint(folder, tag, trainer_state, write_model)


def write_checkpoint(
    folder: Path, tag: str, trainer_state: dict[str, Any], write_payload: Callable[[Path], None]
) -> CheckpointRef:
    """Write ``folder/tag`` atomically — ``write_payload(staging)`` puts the weights (and whatever else a backend keeps)
    into the staging folder, then the trainer state and the manifest follow — and point ``latest.json`` at it.

    Nothing is written if the state is not plain data; a write that fails (disk full, permissions) removes its
    partial folder and raises a UserError saying that the previous checkpoint is intact and how to resume.
    """
    check_plain_state(trainer_state)
    step = int(trainer_state["step"])
    final = folder / tag
    staging = folder / f".{tag}.partial"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        seq = _next_seq(folder)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        write_payload(staging)
        torch.save(trainer_state, staging / STATE_FILE)
        files = {p.relative_to(staging).as_posix(): p.stat().st_size for p in sorted(staging.rglob("*")) if p.is_file()}
        manifest = {"format": MANIFEST_FORMAT, "tag": tag, "step": step, "seq": seq, "files": files}
        atomic_write_json(staging / MANIFEST, manifest)
        if final.exists():  # re-saving a tag (a replayed segment): swap, then drop the old one
            trash = folder / f".{tag}.old"
            shutil.rmtree(trash, ignore_errors=True)
            final.rename(trash)
            staging.rename(final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            staging.rename(final)
        atomic_write_json(folder / LATEST, {"tag": tag, "step": step, "seq": seq})
    except Exception as exc:  # disk full, read-only file system, a serialisation failure: name it, keep the rest
        shutil.rmtree(staging, ignore_errors=True)
        raise UserError(
            f"cannot write checkpoint {final}: {_one_line(exc)}",
            hint=f"earlier checkpoints are intact; fix the cause, then npo-bench run --resume {folder.parent}",
        ) from exc
    return CheckpointRef(step=step, tag=tag, path=final)


def _next_seq(folder: Path) -> int:
    """One more than the highest save sequence number in ``folder`` (latest.json, else the manifests)."""
    try:
        return int(json.loads((folder / LATEST).read_text())["seq"]) + 1
    except (OSError, ValueError, KeyError, TypeError):
        seqs = [m["seq"] for m in (_manifest(p) for p in folder.iterdir() if p.is_dir()) if m is not None]
        return max(seqs, default=0) + 1


# ---- loading --------------------------------------------------------------------------------------------------


def load_trainer_state(ref: CheckpointRef, required: tuple[str, ...] = REQUIRED_STATE) -> dict[str, Any]:
    """The trainer state of ``ref``, read without executing anything (``weights_only=True``), holding ``required``."""
    path = ref.path / STATE_FILE
    if not path.is_file():
        raise CorruptCheckpoint(f"checkpoint {ref.path} is incomplete: {STATE_FILE} is missing")
    state = safe_torch_load(path)
    if not isinstance(state, dict) or any(key not in state for key in required):
        missing = [k for k in required if not isinstance(state, dict) or k not in state]
        raise CorruptCheckpoint(f"checkpoint {path} is corrupt: no {', '.join(missing)} in the trainer state")
    return state


def safe_torch_load(path: Path) -> Any:
    """``torch.load(path, weights_only=True)``; anything else than tensors and plain data is refused in one line."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # untrusted bytes: every failure means "unusable", never a traceback
        text = str(exc)
        if "Weights only load failed" in text:
            found = re.search(r"GLOBAL ([\w.]+)", text)
            what = f" ({found.group(1)})" if found else ""
            raise CorruptCheckpoint(
                f"refusing to load {path}: it holds Python objects{what}, not only tensors and plain data; "
                "nothing in it was run",
                hint="a crafted file, or one written by an npo-bench older than the plain-data checkpoints",
            ) from None
        raise CorruptCheckpoint(f"checkpoint {path} is corrupt: {type(exc).__name__}: {_one_line(exc)}") from None


def load_weights(ref: CheckpointRef) -> dict[str, torch.Tensor]:
    """The model state dict saved in ``ref`` (safetensors shards written by ``save_pretrained``)."""
    from safetensors.torch import load_file

    files = sorted(ref.path.glob("*.safetensors"))
    if not files:
        raise CorruptCheckpoint(f"checkpoint {ref.path} has no *.safetensors weights")
    weights: dict[str, torch.Tensor] = {}
    for file in files:
        try:
            weights.update(load_file(file))
        except Exception as exc:
            raise CorruptCheckpoint(f"checkpoint weights {file} are corrupt: {_one_line(exc)}") from None
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


# ---- finding checkpoints ----------------------------------------------------------------------------------------


def _manifest(path: Path) -> dict[str, Any] | None:
    """The manifest of checkpoint folder ``path`` if it is well formed, else None."""
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if (
            isinstance(data, dict)
            and isinstance(data.get("step"), int)
            and isinstance(data.get("seq"), int)
            and isinstance(data.get("files"), dict)
        ):
            return data
    except (OSError, ValueError):
        pass
    return None


def check_intact(path: Path) -> str | None:
    """Why checkpoint folder ``path`` is not intact (missing manifest or files, a file of the wrong size), or None.

    Cheap: sizes only. Corrupt contents of the right size are caught when the checkpoint is loaded.
    """
    if not path.is_dir():
        return "it is missing"
    manifest = _manifest(path)
    if manifest is None:
        return f"{MANIFEST} is missing or unreadable"
    for name, size in manifest["files"].items():
        file = path / str(name)
        if not file.is_file():
            return f"{name} is missing"
        if file.stat().st_size != size:
            return f"{name} has {file.stat().st_size} bytes, {size} were written"
    if STATE_FILE not in manifest["files"]:
        return f"{STATE_FILE} is not in its manifest"
    return None


def _ref(folder: Path, tag: str) -> CheckpointRef:
    manifest = _manifest(folder / tag)
    assert manifest is not None
    return CheckpointRef(step=int(manifest["step"]), tag=tag, path=folder / tag)


def _pointer(folder: Path) -> tuple[str | None, str | None]:
    """(tag latest.json names, None) or (None, why it cannot be used)."""
    pointer = folder / LATEST
    if not pointer.exists():
        return None, f"{LATEST} is missing"
    try:
        data = json.loads(pointer.read_text(encoding="utf-8"))
        tag = data["tag"]
        if not isinstance(tag, str) or not tag or "/" in tag or tag.startswith("."):  # hidden = staging or trash
            raise ValueError(f"bad tag {tag!r}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{LATEST} is corrupt ({_one_line(exc)})"
    return tag, None


def resume_candidates(folder: Path) -> tuple[list[CheckpointRef], str | None]:
    """Intact checkpoints in ``folder``, newest save first, and why ``latest.json``'s was passed over (or None).

    The first candidate is the one ``latest.json`` names when that one is intact; otherwise the newest intact
    checkpoint by save sequence. Every other intact checkpoint follows, newest first (fallbacks for a checkpoint
    whose contents turn out corrupt on loading).
    """
    if not folder.is_dir():
        return [], None
    intact: dict[str, int] = {}
    for path in folder.iterdir():
        if path.is_dir() and not path.name.startswith(".") and check_intact(path) is None:
            intact[path.name] = int(_manifest(path)["seq"])  # type: ignore[index]
    ordered = sorted(intact, key=lambda tag: intact[tag], reverse=True)
    tag, problem = _pointer(folder)
    if tag is not None:
        why = check_intact(folder / tag)
        if why is None:
            ordered.remove(tag)
            ordered.insert(0, tag)
        else:
            problem = f"{LATEST} names {tag}, but {why}"
    if problem is not None and not ordered and tag is None and problem.endswith("is missing"):
        problem = None  # no pointer and no checkpoint: a run that never saved
    return [_ref(folder, t) for t in ordered], problem


def latest_checkpoint(folder: Path, log: Log | None = None) -> CheckpointRef | None:
    """The newest intact checkpoint in ``folder`` (see :func:`resume_candidates`), or None when there is none.

    When ``latest.json`` could not be followed, ``log`` (default: ignore) hears which checkpoint was taken instead.
    """
    candidates, problem = resume_candidates(folder)
    if problem is not None and log is not None:
        chosen = f"using the newest intact checkpoint, {candidates[0].tag}" if candidates else "no intact checkpoint"
        log(f"warning: {folder}: {problem}; {chosen}")
    return candidates[0] if candidates else None


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
            raise UserError(f"{tag} run {path} has no intact checkpoint in {path / 'checkpoints'}")
        return CheckpointRef(ref.step, f"{tag}@{ref.tag}", ref.path)
    if not any(path.glob("*.safetensors")):
        raise UserError(
            f"{tag} model {path} has no *.safetensors weights", hint="pass a run directory or a model directory"
        )
    return CheckpointRef(-1, tag, path)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
