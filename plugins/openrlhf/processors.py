"""Make OpenRLHF's ``get_tokenizer`` (``AutoProcessor.from_pretrained``) return npo-bench's torchvision-free Qwen-VL
processors where torchvision is missing (CPU machines): a saved tiny policy names ``VideoFreeQwen3VLProcessor``,
which ``AutoProcessor`` does not know, and it would fall back to a bare tokenizer that OpenRLHF cannot use.

Where torchvision works (a GPU node), nothing is registered and the stock processors load.
"""

from __future__ import annotations

import importlib.util


def _torchvision_usable() -> bool:
    if importlib.util.find_spec("torchvision") is None:
        return False
    try:
        import torchvision.ops  # noqa: F401  (the CPU wheel's nms operator is what breaks)
    except Exception:
        return False
    return True


def register_torchvision_free_processors() -> bool:
    """Register the video-free processors with ``AutoProcessor``; True when registered."""
    if _torchvision_usable():
        return False
    from transformers import AutoProcessor

    from npo_bench.policy.processor import PROCESSORS

    # AutoProcessor ignores registrations keyed by a transformers config class; ``processor_class_from_name`` finds a
    # registered class by its ``__name__`` (the name a saved processor_config.json carries), whatever the key.
    for processor in set(PROCESSORS.values()):
        key = type(f"{processor.__name__}Key", (), {"__module__": __name__})
        AutoProcessor.register(key, processor, exist_ok=True)
    return True
