"""npo-bench: train and evaluate Near-Future Policy Optimization (NPO) and its RLVR rivals.

Public API for plugin authors (importing this module is cheap: no torch, no transformers)::

    from npo_bench import hookimpl            # mark hook implementations
    from npo_bench import UserError           # raise for bad user input (names the file/row/field/plugin)

Data types live in :mod:`npo_bench.types`, the guidance protocols in :mod:`npo_bench.guidance`, verifiers in
:mod:`npo_bench.verify`.
"""

from __future__ import annotations

import pluggy

from npo_bench.errors import UserError

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("npo_bench")

__all__ = ["UserError", "__version__", "hookimpl"]
