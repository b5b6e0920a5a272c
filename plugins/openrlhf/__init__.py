"""The ``openrlhf`` backend: OpenRLHF 0.11.2 on Ray (vLLM rollouts, DeepSpeed actor) driven by npo-bench's sources.

Registered like ``embedded``; nothing here imports OpenRLHF, Ray, DeepSpeed or vLLM: the registration is a
``"module:attr"`` string, and ``availability`` looks the packages up without importing them.
"""

from __future__ import annotations

from npo_bench import hookimpl
from npo_bench_plugins.openrlhf.availability import availability_note


@hookimpl
def npo_bench_register_backends(register):
    register(
        "openrlhf",
        "npo_bench_plugins.openrlhf.backend:OpenRLHFBackend",
        description="OpenRLHF 0.11.2 on Ray: vLLM rollouts, DeepSpeed actor, guided experience maker and loss"
        + availability_note(),
    )
