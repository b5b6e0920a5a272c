"""Run directories: resolved config, metadata, append-only JSONL logs, atomic writes, resume truncation.

::

    runs/<name>/config.yaml       resolved config (every default filled in) + the config as passed
    runs/<name>/meta.json         git revision + dirty flag, package versions, seed, host, start/end
    runs/<name>/run.lock          held (flock) by the one process writing the run; names its pid and host
    runs/<name>/metrics.jsonl     one line per step, flushed; resume truncates to the last checkpoint
    runs/<name>/events.jsonl      interventions (sources write here)
    runs/<name>/checkpoints/      step-XXXXXX/ … and latest.json
    runs/<name>/eval/<bench>.json per-item records + scores

One writer per run directory: a run directory is created exclusively — built complete under a hidden name, then
renamed into place, which fails if the name is taken (a derived name then gets a ``-2``, ``-3`` … suffix, an
explicit ``--name`` is an error), so a kill never leaves a half-made run — and a writer holds an exclusive ``flock`` on
``run.lock`` for as long as it runs — a second writer (another ``--resume``, an ``eval`` writing into the run) gets
one line naming the holder's pid. The lock dies with its process, so a killed run can be resumed at once. A run name
is one folder name: it cannot be empty, ``.``/``..``, hold a path separator, or start with ``.`` or ``-``.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from npo_bench.errors import UserError
from npo_bench.runlock import RunLock

PACKAGES = ("npo-bench", "torch", "transformers", "tokenizers", "pluggy", "math-verify", "numpy", "Pillow")
STAGING_MARK = "creating"
MAX_NAME_BYTES = 200
MAX_SUFFIX = 999
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


def run_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a run directory under ``runs_dir`` (or None): it must be one plain folder name."""
    if not name.strip():
        return "a run name must not be empty"
    if name in (".", ".."):
        return "a run name cannot be . or .."
    if _UNSAFE_NAME.search(name):
        return "a run name is one folder name: no /, \\ or control characters (it cannot point outside runs_dir)"
    if name.startswith((".", "-")):
        return "a run name cannot start with . or -"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"a run name has at most {MAX_NAME_BYTES} bytes"
    return None


def _make_parents(folder: Path) -> list[Path]:
    """``mkdir -p folder``; the folders it made, deepest first (so a failed run can take them back)."""
    missing = []
    for parent in [folder, *folder.parents]:
        if parent.exists():
            break
        missing.append(parent)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write run directory {folder}: {exc.strerror or exc}") from None
    return missing


def _claim(staging: Path, target: Path) -> bool:
    """Rename the complete ``staging`` folder to ``target``; False when ``target`` is taken (exists, not empty)."""
    try:
        os.rename(staging, target)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            return False
        raise
    return True


def _sweep_stale_staging(folder: Path, min_age_s: float = 60.0) -> None:
    """Remove half-built run folders that a killed ``create`` left behind (older than a minute, lock free)."""
    now = time.time()
    for entry in folder.glob(f".*.{STAGING_MARK}-*"):
        try:
            if not entry.is_dir() or now - entry.stat().st_mtime < min_age_s:
                continue
            lock = RunLock(entry)
            lock.acquire()
        except (OSError, UserError):
            continue  # still being built, or not ours to judge
        lock.release()
        shutil.rmtree(entry, ignore_errors=True)


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (another run appeared) or gone: keep the rest


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder + ``os.replace``: readers see the old or the new file, never half.

    A failed write (disk full, read-only file system) leaves the old file and raises a UserError naming the file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def git_revision(cwd: Path | None = None) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


class JsonlLog:
    """An append-only JSON-lines file, flushed after every record (a killed run loses at most the line in flight)."""

    def __init__(self, path: Path):
        self.path = path

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, default=float) + "\n"
        try:
            with self.path.open("a") as handle:
                handle.write(line)
                handle.flush()
        except OSError as exc:  # disk full, a read-only file system: the run stops with the file named
            raise UserError(
                f"cannot append to {self.path}: {exc.strerror or exc}",
                hint=f"free space, then npo-bench run --resume {self.path.parent}",
            ) from exc

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        records = []
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise UserError(f"{self.path}:{number}: corrupt JSON line") from None
        return records

    def line_count(self) -> int:
        return len(self.read())

    def truncate(self, lines: int) -> None:
        """Keep the first ``lines`` complete records (drops a half-written tail)."""
        records = self.read_complete()[:lines]
        atomic_write_text(self.path, "".join(json.dumps(r, sort_keys=True, default=float) + "\n" for r in records))

    def read_complete(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a torn last line from a kill
        return records


class RunDir:
    """One run's directory. Two runs never share one; one process writes it at a time (:class:`RunLock`)."""

    def __init__(self, path: Path):
        self.path = path
        self.metrics = JsonlLog(path / "metrics.jsonl")
        self.events = JsonlLog(path / "events.jsonl")
        self.checkpoints = path / "checkpoints"
        self.eval_dir = path / "eval"
        self.lock = RunLock(path)
        self.created: list[Path] = []  # folders this process made for the run (removed by `discard`)

    @classmethod
    def create(
        cls,
        path: Path,
        resolved: dict[str, Any],
        passed: dict[str, Any],
        seed: int,
        suffix_on_collision: bool = False,
    ) -> RunDir:
        """Make ``path`` exclusively, lock it, write config.yaml and meta.json.

        An existing ``path`` is an error, or with ``suffix_on_collision`` the first free ``path-2``, ``path-3``, …
        (``resolved["name"]`` follows). Two processes racing for one name never share a directory.
        """
        problem = run_name_problem(path.name)
        if problem is not None:
            raise UserError(f"run name {path.name!r}: {problem}")
        created = _make_parents(path.parent)
        _sweep_stale_staging(path.parent)
        # Built complete (locked, config.yaml, meta.json) under a hidden name, then renamed into place: a kill at any
        # moment leaves either no run directory or a whole one, and the rename onto a taken name fails (exclusive).
        staging = path.parent / f".{path.name}.{STAGING_MARK}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.mkdir(staging)
        except OSError as exc:
            _remove_empty(created)
            raise UserError(f"cannot write run directory {path.parent}: {exc.strerror or exc}") from None
        run = cls(staging)
        run.created = [staging, *created]
        try:
            run.lock.acquire()
            meta = {
                "git": git_revision(Path(__file__).parent),
                "packages": package_versions(),
                "seed": seed,
                "host": socket.gethostname(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "ended": None,
            }
            atomic_write_json(staging / "meta.json", meta)
            for attempt in range(1, MAX_SUFFIX + 1):
                candidate = path if attempt == 1 else path.with_name(f"{path.name}-{attempt}")
                named = {**resolved, "name": candidate.name} if "name" in resolved else resolved
                atomic_write_text(
                    staging / "config.yaml", yaml.safe_dump({"resolved": named, "passed": passed}, sort_keys=False)
                )
                if _claim(staging, candidate):
                    return cls._moved(run, candidate, created)
                if not suffix_on_collision:
                    raise UserError(
                        f"run directory {candidate} already exists",
                        hint=f"resume it with --resume {candidate}, or pick another --name",
                    )
            raise UserError(f"run directory {path}: {MAX_SUFFIX} runs of that name exist", hint="pick another --name")
        except OSError as exc:
            run.discard()
            raise UserError(f"cannot write run directory {path}: {exc.strerror or exc}") from None
        except BaseException:
            run.discard()
            raise

    @classmethod
    def _moved(cls, staging_run: RunDir, final: Path, created: list[Path]) -> RunDir:
        """The run at its final path, keeping the lock ``staging_run`` took (a flock follows the renamed file)."""
        run = cls(final)
        run.lock.fd, staging_run.lock.fd = staging_run.lock.fd, None
        run.created = [final, *created]
        return run

    @classmethod
    def open(cls, path: Path, lock: bool = False) -> RunDir:
        """An existing run directory; with ``lock`` this process becomes its one writer (else: read only)."""
        if not (path / "config.yaml").is_file():
            raise UserError(f"{path} is not a run directory (no config.yaml)")
        run = cls(path)
        if lock:
            run.lock.acquire()
        return run

    def discard(self) -> None:
        """Remove what :meth:`create` made (a run that failed before its first checkpoint leaves nothing behind)."""
        self.lock.release()
        if self.created:
            shutil.rmtree(self.created[0], ignore_errors=True)
            _remove_empty(self.created[1:])
            self.created = []

    def resolved_config(self) -> dict[str, Any]:
        try:
            data = yaml.safe_load((self.path / "config.yaml").read_text())
            return data["resolved"]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise UserError(f"{self.path / 'config.yaml'}: unreadable run config ({exc})") from None

    def update_meta(self, **fields: Any) -> None:
        meta_path = self.path / "meta.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        meta.update(fields)
        atomic_write_json(meta_path, meta)
