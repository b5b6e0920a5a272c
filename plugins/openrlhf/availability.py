"""Whether the ``openrlhf`` extra is usable here, found without importing anything heavy."""

from __future__ import annotations

import importlib.metadata
import importlib.util

PINNED = "0.11.2"
INSTALL_HINT = "pip install 'npo-bench[openrlhf]' (CPU machines: the recipe in docs/backends.md)"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(need_vllm: bool = True) -> list[str]:
    """Reasons the backend cannot train here (empty = it can launch; ``need_vllm=False``: a ``device: cpu`` run,
    whose rollout engines are HF models)."""
    reasons = []
    try:  # the distribution, not a module lookup (a folder named openrlhf on sys.path is not the package)
        version = importlib.metadata.version("openrlhf")
    except importlib.metadata.PackageNotFoundError:
        return [f"openrlhf is not installed: {INSTALL_HINT}"]
    if version != PINNED:
        reasons.append(f"openrlhf {version} is installed, the backend is written against {PINNED}")
    for module, what in (("ray", "ray"), ("deepspeed", "deepspeed"), ("vllm", "vllm (rollout engines, GPU)")):
        if module == "vllm" and not need_vllm:
            continue
        if not _installed(module):
            reasons.append(f"{what} is not installed")
    return reasons


def availability_note() -> str:
    reasons = missing()
    return f" — unavailable here: {'; '.join(reasons)}" if reasons else " — available"
