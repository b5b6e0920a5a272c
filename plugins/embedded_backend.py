"""Registers the ``embedded`` backend: the PyTorch + transformers GRPO loop (CPU by default, one GPU if present)."""

from __future__ import annotations

from npo_bench import hookimpl


@hookimpl
def npo_bench_register_backends(register):
    # a "module:attr" string: torch and transformers are imported only when a run asks for this backend
    register(
        "embedded",
        "npo_bench.trainer.backend:EmbeddedBackend",
        description="PyTorch + transformers GRPO loop on one device (2-core CPU default)",
    )
