"""One writer per run directory: an exclusive, non-blocking ``flock`` on ``RUN/run.lock`` (docs/run-directories.md).

:class:`RunLock` is held by ``npo-bench run`` (and ``--resume``) for the whole session and by ``npo-bench eval`` while
it writes into a run; a second writer gets one line naming the holder's pid and host.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from npo_bench.errors import UserError

LOCK_FILE = "run.lock"


class RunLock:
    """An exclusive, non-blocking ``flock`` on ``RUN/run.lock``, held until :meth:`release` or the process ends.

    The file names the holder (pid, host, since when) so that a second writer's error can say who holds it. A
    lock is per open file: two ``RunLock`` objects on one run conflict even inside one process.
    """

    def __init__(self, run_path: Path):
        self.path = run_path / LOCK_FILE
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self) -> None:
        import fcntl

        if self.fd is not None:
            return
        try:  # never through a link: a crafted run.lock -> ~/.bashrc would be truncated and overwritten
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            why = "it is a symbolic link" if self.path.is_symlink() else exc.strerror or exc
            raise UserError(f"cannot lock run directory {self.path.parent}: {LOCK_FILE}: {why}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UserError(f"cannot lock run directory {self.path.parent}: {LOCK_FILE} is not a regular file")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise UserError(
                f"run directory {self.path.parent} is in use by another npo-bench process ({self.holder()})",
                hint="one writer per run directory: wait for it to finish, or stop it first",
            ) from None
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode())
        self.fd = fd

    def holder(self) -> str:
        """What the holder wrote into the lock file (``pid N on HOST since …``)."""
        for _ in range(20):  # the holder writes right after it locks: wait a moment for the line
            try:
                text = self.path.read_text(errors="replace").strip()
            except OSError:
                text = ""
            if text:
                return text
            time.sleep(0.01)
        return "pid unknown"

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = None

    def __del__(self) -> None:  # a forgotten RunDir (tests, scripts) gives its lock back when collected
        with contextlib.suppress(Exception):
            self.release()


@contextlib.contextmanager
def writer_lock(run_path: Path | None) -> Iterator[None]:
    """Hold ``run_path``'s lock for the block (no-op for None): for commands that write into someone's run."""
    if run_path is None:
        yield
        return
    lock = RunLock(run_path)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()
