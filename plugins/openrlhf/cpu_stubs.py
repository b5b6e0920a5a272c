"""Import stubs that let OpenRLHF 0.11.2's real classes import on a machine without CUDA kernels or vLLM.

Exactly what OpenRLHF's own test-suite stubs, nothing more:

- ``flash_attn_2_cuda`` — the compiled CUDA extension of flash-attn. A CPU install builds flash-attn with
  ``FLASH_ATTENTION_SKIP_CUDA_BUILD=TRUE`` (pure Python, no kernels), and ``import flash_attn`` then fails on this one
  module. OpenRLHF only needs ``flash_attn.bert_padding``/``flash_attn.utils`` (pure torch) at import time.
- ``vllm`` — the rollout engine (CUDA only for VLMs). OpenRLHF imports ``SamplingParams``, ``TokensPrompt``,
  ``random_uuid`` and a few names at module level; creating an engine through the stub raises.

Never used by a real launch: :func:`install` refuses to shadow an importable vLLM, and the launcher only calls it for
``--dry-run`` flag validation and in tests.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import uuid
from typing import Any

VLLM_STUB_VERSION = "0.29.0"  # the version openrlhf 0.11.2's `vllm` extra pins


class StubUnavailable(RuntimeError):
    """Raised when code reaches for a real vLLM engine or CUDA kernel through a stub."""


class SamplingParams:
    """Holds vLLM sampling settings as attributes (the stub keeps what OpenRLHF passes; it samples nothing)."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def __repr__(self) -> str:
        return f"SamplingParams({self.__dict__})"


class TokensPrompt(dict):
    """vLLM's ``TokensPrompt`` is a TypedDict: a plain dict at run time."""


def _unavailable(name: str):
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise StubUnavailable(f"{name} needs a real vLLM install (this process runs with the CPU import stub)")

    return fail


def _module(name: str, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    module.__npo_bench_stub__ = True
    return module


def _vllm_modules() -> dict[str, types.ModuleType]:
    engine = type("AsyncLLMEngine", (), {"from_engine_args": staticmethod(_unavailable("vllm.AsyncLLMEngine"))})
    args = type("AsyncEngineArgs", (), {"__init__": _unavailable("vllm.AsyncEngineArgs")})
    return {
        "vllm": _module(
            "vllm",
            __version__=VLLM_STUB_VERSION,
            __path__=[],
            SamplingParams=SamplingParams,
            AsyncLLMEngine=engine,
            AsyncEngineArgs=args,
            LLM=_unavailable("vllm.LLM"),
        ),
        "vllm.inputs": _module("vllm.inputs", TokensPrompt=TokensPrompt),
        "vllm.utils": _module("vllm.utils", random_uuid=lambda: uuid.uuid4().hex),
        "vllm.distributed": _module("vllm.distributed", __path__=[]),
        "vllm.distributed.utils": _module(
            "vllm.distributed.utils", StatelessProcessGroup=type("StatelessProcessGroup", (), {})
        ),
        "vllm.distributed.device_communicators": _module("vllm.distributed.device_communicators", __path__=[]),
        "vllm.distributed.device_communicators.pynccl": _module(
            "vllm.distributed.device_communicators.pynccl",
            PyNcclCommunicator=_unavailable("vllm PyNcclCommunicator"),
        ),
    }


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def install() -> list[str]:
    """Put the stubs into ``sys.modules`` where the real module is absent; returns the names stubbed."""
    stubbed = []
    if "flash_attn_2_cuda" not in sys.modules and not _has_module("flash_attn_2_cuda"):
        sys.modules["flash_attn_2_cuda"] = _module("flash_attn_2_cuda")
        stubbed.append("flash_attn_2_cuda")
    if "vllm" not in sys.modules and not _has_module("vllm"):
        sys.modules.update(_vllm_modules())
        stubbed.append("vllm")
    return stubbed


def is_stub(module_name: str) -> bool:
    return bool(getattr(sys.modules.get(module_name), "__npo_bench_stub__", False))
