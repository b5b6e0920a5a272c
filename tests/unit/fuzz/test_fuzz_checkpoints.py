"""Fuzz (hypothesis, bounded, derandomized): checkpoint files a run directory might hold after a crash, a bad copy or
an attack — flipped, cut or inserted bytes in ``trainer_state.pt``, hand-built pickles calling arbitrary globals, any
JSON in ``latest.json`` and ``checkpoint.json``.

Property: loading returns the plain state or raises one CorruptCheckpoint/UserError — never another exception — and
no payload ever runs (each would create a marker file); finding the resume point never raises.
"""

from __future__ import annotations

import json
import pickle
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from npo_bench.errors import UserError
from npo_bench.trainer.checkpoints import (
    LATEST,
    MANIFEST,
    STATE_FILE,
    capture_rng,
    load_trainer_state,
    resume_candidates,
    save_checkpoint,
)
from npo_bench.types import CheckpointRef

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


class _Model:
    def save_pretrained(self, folder: Path) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        save_file({"w": torch.arange(6.0)}, str(folder / "model.safetensors"))


@pytest.fixture(scope="module")
def saved():
    """A real checkpoint folder (two checkpoints) to mangle, restored after each example."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "checkpoints"
        optimizer = {  # the shape of AdamW's state_dict (a real step costs seconds of torch imports)
            "state": {0: {"step": torch.tensor(1.0), "exp_avg": torch.ones(3), "exp_avg_sq": torch.ones(3)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "foreach": None, "params": [0]}],
        }
        for step in (1, 2):
            state = {
                "step": step,
                "updates": step,
                "optimizer": optimizer,
                "rng": capture_rng(),
                "source": {"cache": {"p": {"response_ids": torch.arange(3), "text": "x", "reward": 1.0}}},
                "metrics_lines": step,
                "events_lines": 0,
            }
            save_checkpoint(root, f"step-00000{step}", _Model(), None, state)
        pristine = Path(folder) / "pristine"
        shutil.copytree(root, pristine)
        yield root, pristine


def _reset(root: Path, pristine: Path) -> None:
    shutil.rmtree(root)
    shutil.copytree(pristine, root)


# ---- hand-built pickles: GLOBAL module.name, then REDUCE with a string argument ------------------------------------
GLOBALS = [
    ("os", "system"),
    ("posix", "system"),
    ("subprocess", "call"),
    ("subprocess", "check_output"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "__import__"),
    ("pathlib", "Path"),
    ("shutil", "rmtree"),
    ("torch", "load"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("collections", "OrderedDict"),
    ("numpy.core.multiarray", "_reconstruct"),
]


def _crafted_pickle(module: str, name: str, argument: str, protocol_header: bool) -> bytes:
    body = b"c" + module.encode() + b"\n" + name.encode() + b"\n" + b"(" + pickle.dumps(argument, 2)[2:-1] + b"tR."
    return (b"\x80\x02" if protocol_header else b"") + body


@FUZZ
@given(
    target=st.sampled_from(GLOBALS),
    command=st.sampled_from(["touch {marker}", "__import__('os').system('touch {marker}')", "{marker}"]),
    header=st.booleans(),
    as_zip=st.booleans(),
)
def test_a_crafted_state_file_never_runs(saved, tmp_path_factory, target, command, header, as_zip):
    root, pristine = saved
    marker = tmp_path_factory.mktemp("m") / "ran"
    payload = _crafted_pickle(*target, command.format(marker=marker), header)
    ref = CheckpointRef(2, "step-000002", root / "step-000002")
    try:
        if as_zip:  # the payload as the data.pkl of a real torch zip archive
            import zipfile

            with zipfile.ZipFile(ref.path / STATE_FILE, "w") as archive:
                archive.writestr("archive/data.pkl", payload)
                archive.writestr("archive/version", "3\n")
        else:
            (ref.path / STATE_FILE).write_bytes(payload)
        with pytest.raises(UserError):
            load_trainer_state(ref)
        assert not marker.exists()
    finally:
        _reset(root, pristine)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "insert", "cut"]),
            st.integers(min_value=0, max_value=2**20),
            st.binary(min_size=1, max_size=8),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_damaged_state_file_loads_or_is_one_clear_error(saved, edits):
    root, pristine = saved
    ref = CheckpointRef(2, "step-000002", root / "step-000002")
    data = bytearray((ref.path / STATE_FILE).read_bytes())
    for kind, at, chunk in edits:
        at %= max(len(data), 1)
        if kind == "flip":
            data[at : at + len(chunk)] = bytes(a ^ (b or 1) for a, b in zip(data[at : at + len(chunk)], chunk))
        elif kind == "insert":
            data[at:at] = chunk
        else:
            del data[at:]
    try:
        (ref.path / STATE_FILE).write_bytes(bytes(data))
        try:
            state = load_trainer_state(ref)
        except UserError as exc:
            assert str(ref.path / STATE_FILE) in exc.message or str(ref.path) in exc.message
            assert "\n" not in exc.one_line()
        else:
            assert state["step"] == 2 or isinstance(state["step"], (int, torch.Tensor))
        candidates, _ = resume_candidates(root)
        assert all(c.path.is_dir() for c in candidates)
    finally:
        _reset(root, pristine)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)
pointer_values = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"tag": st.sampled_from(["step-000001", "../..", "", "/etc", "step-000009", 3]), "step": json_values}
    ),
    st.fixed_dictionaries({"tag": st.text(max_size=20), "step": st.integers(), "seq": json_values}),
)


@FUZZ
@given(
    pointer=st.one_of(pointer_values, st.binary(max_size=30)),
    manifest=st.one_of(json_values, st.binary(max_size=30)),
    which=st.sampled_from(["step-000001", "step-000002"]),
)
def test_any_pointer_or_manifest_gives_intact_candidates_or_none(saved, pointer, manifest, which):
    root, pristine = saved
    try:
        for path, value in ((root / LATEST, pointer), (root / which / MANIFEST, manifest)):
            path.write_bytes(value if isinstance(value, bytes) else json.dumps(value).encode())
        candidates, problem = resume_candidates(root)
        other = "step-000002" if which == "step-000001" else "step-000001"
        assert [c.tag for c in candidates if c.tag != which] == [other]  # the untouched one is always found
        for candidate in candidates:
            load_trainer_state(candidate)  # every candidate offered really loads
    finally:
        _reset(root, pristine)
