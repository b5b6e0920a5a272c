"""Kill/resume soak: SIGKILL training runs at random moments (inside checkpoint saves too), resume after every kill,
and check that each ends exactly where an uninterrupted run of the same config ends.

    python perf/kill_resume_soak.py                       # 12 kills of `--preset micro` GRPO runs
    python perf/kill_resume_soak.py --kills 20 --method npo_early --seed 3

An uninterrupted run is trained first. Then a *cycle* starts the same run under another name and kills it with
SIGKILL, again and again, each time resuming it (``npo-bench run --resume``); a probe kills in one of these ways,
drawn at random:

- ``step``   when metrics.jsonl has grown by 1–3 lines since the process started (a random training step);
- ``save``   the moment a checkpoint is being written (a ``.TAG.partial`` staging folder exists);
- ``timed``  at a random time between 0 and the uninterrupted run's wall time (start-up included: the run directory
  may not even exist yet);
- ``final``  (rarely) right after ``latest.json`` names the final checkpoint, before the run records its end.

Every fourth kill also deletes ``checkpoints/latest.json``, so that resume has to find the newest intact checkpoint
by itself. A run that reaches its end closes its cycle: it is resumed once more (a finished run must resume to
itself, writing nothing), its metrics.jsonl (timings dropped), events.jsonl and final weights (tensor by tensor) are
compared with the uninterrupted run's, and the next cycle begins — until ``--kills`` kills have landed; the last
cycle is then resumed to its end and compared too.

Figures printed and written to ``OUT/soak.json``: probes tried, kills that landed (the process was alive), kills
inside a save, kills after the final checkpoint, pointers removed, resumes that fell back to an older checkpoint,
cycles completed and identical, and the verdict (exit status 0 when every cycle matches). The warm-up is built first
(it is cached) so that kills land in training rather than in the warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MODES = ("step", "save", "timed", "final")
MODE_WEIGHTS = (4, 4, 3, 1)
POLL_S = 0.005


@dataclass
class Probe:
    index: int
    cycle: int
    mode: str
    resumed: bool  # this process was a --resume
    landed: bool = False  # the process was alive when killed
    in_save: bool = False  # a .partial staging folder existed at the kill
    metrics_lines: int = 0  # metrics.jsonl lines at the kill
    latest: str | None = None  # what latest.json named after the kill
    pointer_removed: bool = False
    exit_code: int | None = None  # when the process ended by itself
    fell_back: bool = False  # its log says it resumed from the newest intact checkpoint, not latest.json's
    seconds: float = 0.0


@dataclass
class Cycle:
    index: int
    kills: int = 0
    identical_metrics: bool = False
    identical_events: bool = False
    identical_weights: bool = False
    finished_resume_idempotent: bool = False

    @property
    def identical(self) -> bool:
        return (
            self.identical_metrics
            and self.identical_events
            and self.identical_weights
            and self.finished_resume_idempotent
        )


@dataclass
class Report:
    config: dict[str, Any]
    probes: list[Probe] = field(default_factory=list)
    cycles: list[Cycle] = field(default_factory=list)
    straight_s: float = 0.0
    soak_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def behaved(self) -> bool:
        return bool(self.cycles) and all(c.identical for c in self.cycles) and not self.errors


def npo_bench(*args: str) -> list[str]:
    return [sys.executable, "-m", "npo_bench.cli", *args]


def run_args(args: argparse.Namespace, runs: Path, name: str) -> list[str]:
    flags = ["run", "--preset", args.preset, "--runs-dir", str(runs), "--name", name, "--seed", str(args.seed)]
    if args.method:
        flags += ["--method", args.method]
    for override in args.set:
        flags += ["--set", override]
    return npo_bench(*flags)


def lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return 0


def latest_tag(checkpoints: Path) -> str | None:
    try:
        return str(json.loads((checkpoints / "latest.json").read_text())["tag"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def saving(checkpoints: Path) -> bool:
    try:
        return any(p.name.endswith(".partial") for p in checkpoints.iterdir())
    except OSError:
        return False


def probe_once(probe: Probe, command: list[str], run_dir: Path, final_tag: str, budget_s: float, rng: random.Random):
    """Start ``command``, kill it as ``probe.mode`` says (or let it end), fill in ``probe``; returns its output."""
    metrics, checkpoints = run_dir / "metrics.jsonl", run_dir / "checkpoints"
    wanted_lines = lines(metrics) + rng.randint(1, 3)
    kill_at = rng.uniform(0.0, budget_s)
    log_path = run_dir.parent / f".soak-probe-{probe.index}.log"
    started = time.perf_counter()
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        while process.poll() is None:
            elapsed = time.perf_counter() - started
            if probe.mode == "step":
                due = lines(metrics) >= wanted_lines
            elif probe.mode == "save":
                due = saving(checkpoints)
            elif probe.mode == "final":
                due = latest_tag(checkpoints) == final_tag
            else:
                due = elapsed >= kill_at
            if due or elapsed > 4 * budget_s + 120:  # a stuck process is killed too
                probe.in_save = saving(checkpoints)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                probe.landed = True
                break
            time.sleep(POLL_S)
    probe.seconds = time.perf_counter() - started
    if not probe.landed:
        probe.exit_code = process.returncode
    probe.metrics_lines = lines(metrics)
    probe.latest = latest_tag(checkpoints)
    text = log_path.read_text(errors="replace")
    probe.fell_back = "the newest intact checkpoint" in text
    log_path.unlink()
    return text


def records(path: Path) -> list[dict[str, Any]]:
    from npo_bench.testing import without_timings

    return without_timings(json.loads(line) for line in path.read_text().splitlines()) if path.exists() else []


def close_cycle(cycle: Cycle, straight: Path, victim: Path, report: Report) -> None:
    """Resume the finished ``victim`` once more (must change nothing), then compare it with ``straight``."""
    from safetensors.torch import load_file

    from npo_bench.trainer.checkpoints import latest_checkpoint

    before = (victim / "metrics.jsonl").read_bytes()
    again = subprocess.run(npo_bench("run", "--resume", str(victim)), capture_output=True, text=True)
    cycle.finished_resume_idempotent = again.returncode == 0 and (victim / "metrics.jsonl").read_bytes() == before
    cycle.identical_metrics = records(straight / "metrics.jsonl") == records(victim / "metrics.jsonl")
    cycle.identical_events = records(straight / "events.jsonl") == records(victim / "events.jsonl")
    a_ref, b_ref = latest_checkpoint(straight / "checkpoints"), latest_checkpoint(victim / "checkpoints")
    if a_ref is None or b_ref is None or a_ref.tag != b_ref.tag:
        report.errors.append(f"cycle {cycle.index}: final checkpoints differ: {a_ref} vs {b_ref}")
        return
    a = {k: v for f in sorted(a_ref.path.glob("*.safetensors")) for k, v in load_file(f).items()}
    b = {k: v for f in sorted(b_ref.path.glob("*.safetensors")) for k, v in load_file(f).items()}
    cycle.identical_weights = a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)
    report.cycles.append(cycle)
    print(
        f"cycle {cycle.index}: {cycle.kills} kills; metrics {cycle.identical_metrics}, events {cycle.identical_events}"
        f", weights {cycle.identical_weights}, resumes to itself {cycle.finished_resume_idempotent}",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=12, help="SIGKILLs that must land [%(default)s]")
    parser.add_argument("--seed", type=int, default=0, help="run seed (and the soak's own RNG) [%(default)s]")
    parser.add_argument("--preset", default="micro", help="[%(default)s]")
    parser.add_argument("--method", help="method preset, e.g. npo_early (anchors, scouts, rollbacks)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    parser.add_argument("--no-lose-pointer", dest="lose_pointer", action="store_false", help="never delete latest.json")
    parser.add_argument("--out", help="work folder (default: a temporary one, removed unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if args.kills < 1:
        parser.error("--kills must be ≥ 1")

    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="npo-soak-"))
    runs = work / "runs"
    rng = random.Random(f"soak:{args.seed}")
    report = Report(config={k: v for k, v in vars(args).items() if k not in ("out", "keep")})
    warm = ["warmup", "--preset", args.preset] + (["--method", args.method] if args.method else [])
    for override in args.set:
        warm += ["--set", override]
    print("warm-up (cached after the first time) …", file=sys.stderr)
    subprocess.run(npo_bench(*warm), check=True, stdout=subprocess.DEVNULL)

    started = time.perf_counter()
    subprocess.run(run_args(args, runs, "straight"), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report.straight_s = time.perf_counter() - started
    straight = runs / "straight"
    final_tag = latest_tag(straight / "checkpoints") or "?"
    print(f"uninterrupted run: {report.straight_s:.1f}s, final checkpoint {final_tag}", file=sys.stderr)

    soak_started = time.perf_counter()
    cycle = Cycle(0)
    landed = 0
    while landed < args.kills:
        victim = runs / f"victim-{cycle.index}"
        exists = (victim / "config.yaml").exists()
        command = npo_bench("run", "--resume", str(victim)) if exists else run_args(args, runs, victim.name)
        probe = Probe(len(report.probes), cycle.index, rng.choices(MODES, MODE_WEIGHTS)[0], resumed=exists)
        text = probe_once(probe, command, victim, final_tag, report.straight_s, rng)
        report.probes.append(probe)
        if probe.landed:
            landed += 1
            cycle.kills += 1
            pointer = victim / "checkpoints" / "latest.json"
            if args.lose_pointer and landed % 4 == 0 and pointer.exists():
                pointer.unlink()
                probe.pointer_removed = True
        elif probe.exit_code != 0:
            report.errors.append(f"probe {probe.index}: exit {probe.exit_code}: {text.strip().splitlines()[-1:]}")
        print(
            f"probe {probe.index:2d} cycle {cycle.index} {probe.mode:5s} {'resume' if probe.resumed else 'start '} "
            f"{'killed' if probe.landed else f'ended {probe.exit_code}'} at {probe.metrics_lines} metrics lines, "
            f"latest={probe.latest}{' (in a save)' if probe.in_save else ''}"
            f"{', pointer removed' if probe.pointer_removed else ''}{', fell back' if probe.fell_back else ''}",
            file=sys.stderr,
        )
        if not probe.landed and probe.exit_code == 0:  # the run reached its end: compare, start the next cycle
            close_cycle(cycle, straight, victim, report)
            cycle = Cycle(cycle.index + 1)
        if len(report.probes) > 10 * args.kills + 20:
            report.errors.append("too many probes without enough kills landing")
            break
    victim = runs / f"victim-{cycle.index}"
    if cycle.kills:  # the last cycle: resume to the end without killing, then compare
        finish = npo_bench("run", "--resume", str(victim)) if (victim / "config.yaml").exists() else None
        done = subprocess.run(finish or run_args(args, runs, victim.name), capture_output=True, text=True)
        if done.returncode != 0:
            report.errors.append(f"final resume: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
        else:
            probe = Probe(len(report.probes), cycle.index, "none", resumed=True, exit_code=0)
            probe.fell_back = "the newest intact checkpoint" in done.stdout
            report.probes.append(probe)
            close_cycle(cycle, straight, victim, report)
    report.soak_s = time.perf_counter() - soak_started

    kills = [p for p in report.probes if p.landed]
    summary = {
        "probes tried": len(report.probes),
        "kills landed": len(kills),
        "kills inside a save": sum(p.in_save for p in kills),
        "kills before the run directory existed": sum(not p.resumed and p.metrics_lines == 0 for p in kills),
        "kills after the final checkpoint": sum(p.mode == "final" for p in kills),
        "pointers removed": sum(p.pointer_removed for p in report.probes),
        "resumes that fell back": sum(p.fell_back for p in report.probes),
        "cycles completed": len(report.cycles),
        "cycles identical to the uninterrupted run": sum(c.identical for c in report.cycles),
        "behaved": report.behaved,
        "uninterrupted run s": round(report.straight_s, 1),
        "soak s": round(report.soak_s, 1),
    }
    work.mkdir(parents=True, exist_ok=True)
    payload = {"summary": summary, **asdict(report)}
    (work / "soak.json").write_text(json.dumps(payload, indent=2))
    for key, value in summary.items():
        print(f"{key:42s} {value}")
    for error in report.errors:
        print(f"error: {error}")
    print(f"report: {work / 'soak.json'}")
    if not args.keep and not args.out:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if report.behaved else 1


if __name__ == "__main__":
    sys.exit(main())
