"""Plain data: what checkpoints may hold, so that loading one never executes code.

Checkpoint files are read with ``torch.load(..., weights_only=True)``, which rebuilds only tensors and plain Python
data. Everything a checkpoint stores — optimizer state, RNG states, a guidance source's ``state_dict()`` — must
therefore be *plain*: ``dict`` (str/int/float/bool/None keys), ``list``, ``tuple``, ``str``, ``int``, ``float``,
``bool``, ``None`` and ``torch.Tensor``. :func:`first_non_plain` finds the first value that is not, with its path, so
a source with unsaveable state is named before anything is written; :func:`trajectory_state` and
:func:`trajectory_from_state` carry a :class:`~npo_bench.types.Trajectory` across a checkpoint as plain data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from npo_bench.types import Trajectory

PLAIN_SCALARS = (str, int, float, bool, type(None))
PLAIN_KINDS = "dicts, lists, tuples, str, int, float, bool, None and torch tensors"
MAX_DEPTH = 64  # deeper nesting than this is a structure no source needs (and guards against cycles)


def first_non_plain(value: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """``(path, type name)`` of the first value in ``value`` that is not plain data, or None when all of it is.

    ``path`` renders like Python indexing: ``["cache"]["synthetic/3"]``.
    """
    if depth > MAX_DEPTH:
        return path, f"nesting deeper than {MAX_DEPTH} levels"
    if isinstance(value, PLAIN_SCALARS) and type(value) in PLAIN_SCALARS:
        return None
    import torch  # deferred: `npo-bench --help` loads the plugins that import this module, and must stay light

    if type(value) is torch.Tensor or type(value) is torch.nn.Parameter:
        return None
    if type(value) in (list, tuple):
        for index, item in enumerate(value):
            found = first_non_plain(item, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
        return None
    if type(value) is dict:
        for key, item in value.items():
            if type(key) not in PLAIN_SCALARS:
                return f"{path}[{key!r}] (a key)", type(key).__name__
            found = first_non_plain(item, f"{path}[{key!r}]", depth + 1)
            if found is not None:
                return found
        return None
    return path, type(value).__qualname__


def trajectory_state(trajectory: Trajectory) -> dict[str, Any]:
    """A trajectory as plain data (its tensors as they are): the inverse of :func:`trajectory_from_state`."""
    return {f.name: getattr(trajectory, f.name) for f in dataclasses.fields(Trajectory)}


def trajectory_from_state(state: Mapping[str, Any]) -> Trajectory:
    """The trajectory :func:`trajectory_state` saved (fields added to ``Trajectory`` later take their defaults)."""
    names = {f.name for f in dataclasses.fields(Trajectory)}
    return Trajectory(**{key: value for key, value in state.items() if key in names})
