"""Worker processes that enforce a hard wall-clock timeout in any thread (environment.md §7; benchmarks.md §4.1).

math-verify's own timeout uses ``signal.alarm``, which only works on the main thread, so it fails in trainer threads
and Ray actors. Instead the parent sends each job to a long-lived worker *process* over a pipe and waits with
``Connection.poll(timeout)``, which works in any thread; a worker that overruns is killed (SIGKILL) and replaced.

Design choices (docs/verifiers.md, "Safety"):

- workers are plain ``python -m npo_bench.verify.worker`` subprocesses, not ``multiprocessing`` children, so no
  ``__main__`` re-import, no fork of a threaded parent, and they can be started from daemonic processes;
- they start lazily (the first job), are reused, and are replaced right after a kill so the next job rarely waits;
- the timeout clock starts when a job is handed to a ready worker (start-up and queueing are not counted);
- each worker's address space may grow by at most ``NPO_BENCH_VERIFY_WORKER_MEMORY_MB`` (default 2048; 0 disables)
  past its start-up footprint; a job that runs out is reported as ``MemoryError`` ("too large");
- no leaks: pools are shut down at interpreter exit, and a worker exits by itself on EOF when its parent dies.

Pool size: ``NPO_BENCH_VERIFY_WORKERS`` or ``min(os.cpu_count(), 8)``; :func:`set_pool_size` changes it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

DEFAULT_MEMORY_MB = 2048
STARTUP_TIMEOUT = 120.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerStartError(RuntimeError):
    """A worker process could not start (e.g. its handler's dependency is not installed)."""


def default_pool_size() -> int:
    configured = os.environ.get("NPO_BENCH_VERIFY_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, min(os.cpu_count() or 1, 8))


def _memory_mb() -> int:
    return int(os.environ.get("NPO_BENCH_VERIFY_WORKER_MEMORY_MB", DEFAULT_MEMORY_MB))


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + path if path else "")
    return env


class _Worker:
    """One worker subprocess and the two pipe ends the parent holds."""

    def __init__(self, handler: str, memory_mb: int):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        command = [sys.executable, "-m", "npo_bench.verify.worker", handler, str(to_child_r), str(from_child_w)]
        command.append(str(memory_mb))
        try:
            self.proc = subprocess.Popen(
                command,
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=_child_env(),
            )
        except BaseException:
            for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
                os.close(fd)
            raise
        os.close(to_child_r)
        os.close(from_child_w)
        self.to_child = Connection(to_child_w, readable=False)
        self.from_child = Connection(from_child_r, writable=False)
        self.ready = False

    def wait_ready(self, timeout: float) -> None:
        if self.ready:
            return
        try:
            if not self.from_child.poll(timeout):
                raise WorkerStartError(f"verifier worker did not start within {timeout:.0f} s")
            status, detail = self.from_child.recv()
        except (EOFError, OSError):
            raise WorkerStartError(f"verifier worker exited while starting (code {self.proc.wait()})") from None
        if status != "ready":
            raise WorkerStartError(str(detail))
        self.ready = True

    def call(self, args: tuple[Any, ...], timeout: float) -> tuple[str, Any]:
        try:
            self.to_child.send(args)
            if not self.from_child.poll(timeout):
                return "timeout", None
            return self.from_child.recv()
        except (EOFError, OSError) as exc:
            return "crashed", f"{type(exc).__name__}: {exc}"

    def close_pipes(self) -> None:
        for conn in (self.to_child, self.from_child):
            with contextlib.suppress(OSError):
                conn.close()

    def kill(self) -> None:
        self.close_pipes()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def stop(self, grace: float = 1.0) -> None:
        """Ask the worker to exit (EOF on its input), kill it if it does not."""
        self.close_pipes()
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class WorkerPool:
    """Up to ``size`` reusable workers running ``handler`` (``"module:function"``), one job at a time each."""

    def __init__(self, handler: str, size: int | None = None, memory_mb: int | None = None):
        self.handler = handler
        self.size = size or default_pool_size()
        self.memory_mb = _memory_mb() if memory_mb is None else memory_mb
        self._idle: list[_Worker] = []
        self._alive = 0
        self._cond = threading.Condition()
        self._closed = False

    def call(self, *args: Any, timeout: float) -> tuple[str, Any]:
        """Run ``handler(*args)`` in a worker: ``("ok", result)``, ``("error", message)`` (it raised),
        ``("timeout", None)`` (killed after ``timeout`` s) or ``("crashed", message)`` (the process died)."""
        worker = self._acquire()
        healthy, respawn = False, True
        try:
            try:
                worker.wait_ready(STARTUP_TIMEOUT)
            except WorkerStartError:
                respawn = False
                raise
            status, value = worker.call(args, timeout)
            healthy = status in ("ok", "error")
            return status, value
        finally:
            self._release(worker, healthy, respawn)

    def warm_up(self, count: int | None = None, *, wait: bool = True) -> None:
        """Start ``count`` (default: all) workers now; with ``wait``, return once they are ready."""
        with self._cond:
            while self._alive < min(count or self.size, self.size):
                self._alive += 1
                self._idle.append(self._spawn_locked())
            workers = list(self._idle)
        if wait:
            for worker in workers:
                worker.wait_ready(STARTUP_TIMEOUT)

    def _spawn_locked(self) -> _Worker:
        try:
            return _Worker(self.handler, self.memory_mb)
        except BaseException:
            self._alive -= 1
            self._cond.notify()
            raise

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the verifier worker pool is shut down")
                if self._idle:
                    return self._idle.pop()
                if self._alive < self.size:
                    self._alive += 1
                    return self._spawn_locked()
                self._cond.wait()

    def _release(self, worker: _Worker, healthy: bool, respawn: bool) -> None:
        if not healthy:
            worker.kill()
        with self._cond:
            if healthy and not self._closed and self._alive <= self.size:
                self._idle.append(worker)
            elif healthy:
                self._alive -= 1
                worker.stop()
            elif respawn and not self._closed and self._alive <= self.size:
                self._idle.append(self._spawn_locked())  # replacement starts now, in the background
            else:
                self._alive -= 1
            self._cond.notify()

    @property
    def process_ids(self) -> list[int]:
        with self._cond:
            return [worker.proc.pid for worker in self._idle]

    def close(self) -> None:
        """Stop every idle worker; busy ones are killed when their job returns."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._alive -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.stop()

    def _forget(self) -> None:
        """In a forked child: drop the parent's workers without touching them."""
        for worker in self._idle:
            worker.close_pipes()
        self._idle = []
        self._alive = 0
        self._cond = threading.Condition()


_POOLS: dict[str, WorkerPool] = {}
_POOLS_LOCK = threading.Lock()
_SIZE: int | None = None


def get_pool(handler: str) -> WorkerPool:
    """The process-wide pool for ``handler`` (created on first use)."""
    pool = _POOLS.get(handler)
    if pool is None:
        with _POOLS_LOCK:
            pool = _POOLS.get(handler)
            if pool is None:
                pool = _POOLS[handler] = WorkerPool(handler, _SIZE)
    return pool


def pool_size() -> int:
    """How many worker processes each pool may run now."""
    return _SIZE or default_pool_size()


def set_pool_size(size: int) -> None:
    """Set how many worker processes each pool may run (existing pools grow or shrink lazily)."""
    global _SIZE
    if size < 1:
        raise ValueError(f"pool size must be at least 1, got {size}")
    _SIZE = size
    for pool in list(_POOLS.values()):
        with pool._cond:
            pool.size = size
            pool._cond.notify_all()


def shutdown() -> None:
    """Stop every worker process of every pool (also runs at interpreter exit)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


def _after_fork_in_child() -> None:
    for pool in list(_POOLS.values()):
        pool._forget()
    _POOLS.clear()


atexit.register(shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
