"""Entry point of a verifier worker process: ``python -m npo_bench.verify.worker HANDLER IN_FD OUT_FD MEMORY_MB``.

Imports ``HANDLER`` (``"module:function"``; a ``warm_up()`` in that module runs first), reports ready, then answers
one job per message until its input pipe closes (the parent exited or stopped it). See :mod:`npo_bench.verify.pool`.
"""

from __future__ import annotations

import importlib
import sys
from multiprocessing.connection import Connection


def _limit_memory(memory_mb: int) -> None:
    """Let the address space grow by at most ``memory_mb`` beyond the start-up footprint (imports included)."""
    if memory_mb <= 0:
        return
    try:
        import resource

        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * resource.getpagesize()
        limit = current + memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # not Linux, or not permitted: the timeout still bounds the work
        pass


def main(argv: list[str]) -> int:
    handler_spec, in_fd, out_fd, memory_mb = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    inbox = Connection(in_fd, writable=False)
    outbox = Connection(out_fd, readable=False)
    try:
        module_name, _, attr = handler_spec.partition(":")
        module = importlib.import_module(module_name)
        handler = getattr(module, attr)
        warm_up = getattr(module, "warm_up", None)
        if callable(warm_up):
            warm_up()
    except Exception as exc:  # reported to the parent, which raises it as a start-up error
        outbox.send(("failed", f"cannot load verifier worker handler {handler_spec!r}: {type(exc).__name__}: {exc}"))
        return 1
    _limit_memory(memory_mb)
    outbox.send(("ready", None))
    while True:
        try:
            args = inbox.recv()
        except (EOFError, OSError):
            return 0
        try:
            reply = ("ok", handler(*args))
        except MemoryError:
            reply = ("error", "MemoryError")
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            outbox.send(reply)
        except (OSError, ValueError):
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
