"""Run directories: resolved config, metadata, append-only JSONL logs, atomic writes, resume truncation.

::

    runs/<name>/config.yaml       resolved config (every default filled in) + the config as passed
    runs/<name>/meta.json         git revision + dirty flag, package versions, seed, host, start/end
    runs/<name>/metrics.jsonl     one line per step, flushed; resume truncates to the last checkpoint
    runs/<name>/events.jsonl      interventions (sources write here)
    runs/<name>/checkpoints/      step-XXXXXX/ … and latest.json
    runs/<name>/eval/<bench>.json per-item records + scores
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from npo_bench.errors import UserError

PACKAGES = ("npo-bench", "torch", "transformers", "tokenizers", "pluggy", "math-verify", "numpy", "Pillow")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder + ``os.replace``: readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
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
        with self.path.open("a") as handle:
            handle.write(json.dumps(record, sort_keys=True, default=float) + "\n")
            handle.flush()

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
    """One run's directory. Two runs never share one: creating an existing run without ``resume`` is an error."""

    def __init__(self, path: Path):
        self.path = path
        self.metrics = JsonlLog(path / "metrics.jsonl")
        self.events = JsonlLog(path / "events.jsonl")
        self.checkpoints = path / "checkpoints"
        self.eval_dir = path / "eval"

    @classmethod
    def create(cls, path: Path, resolved: dict[str, Any], passed: dict[str, Any], seed: int) -> RunDir:
        if (path / "config.yaml").exists():
            raise UserError(f"run directory {path} already exists", hint=f"resume it with --resume {path}")
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UserError(f"cannot write run directory {path}: {exc.strerror}") from None
        run = cls(path)
        atomic_write_text(
            path / "config.yaml", yaml.safe_dump({"resolved": resolved, "passed": passed}, sort_keys=False)
        )
        atomic_write_json(
            path / "meta.json",
            {
                "git": git_revision(Path(__file__).parent),
                "packages": package_versions(),
                "seed": seed,
                "host": socket.gethostname(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "ended": None,
            },
        )
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        if not (path / "config.yaml").is_file():
            raise UserError(f"{path} is not a run directory (no config.yaml)")
        return cls(path)

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
