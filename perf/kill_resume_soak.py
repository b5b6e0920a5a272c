"""Kill/resume soak: SIGKILL a training run at random moments (inside checkpoint saves too), resume it each time, and
check that it ends exactly where an uninterrupted run of the same config ends.

    python perf/kill_resume_soak.py                       # 12 kills of a `--preset micro` GRPO run
    python perf/kill_resume_soak.py --kills 20 --method npo_early --set trainer.steps=9 --seed 3

Each probe starts ``npo-bench run`` (the first time) or ``npo-bench run --resume`` (afterwards) and kills it with
SIGKILL in one of these ways, drawn at random:

- ``step``   when metrics.jsonl has grown by 1–3 lines since the process started (a random training step);
- ``save``   the moment a checkpoint is being written (a ``.TAG.partial`` staging folder exists);
- ``final``  right after ``latest.json`` names the final checkpoint (before the run records its end);
- ``timed``  at a random time between 0 and the uninterrupted run's wall time (start-up and warm-up included);

and, with ``--lose-pointer`` (default on), every fourth probe also deletes ``checkpoints/latest.json`` after the
kill, so the resume has to find the newest intact checkpoint by itself. After the last kill the run is resumed to the
end, then resumed once more (a finished run must resume to itself). Verdict: metrics.jsonl (timings dropped),
events.jsonl and the final weights (tensor by tensor) equal the uninterrupted run's.

Figures printed and written to ``OUT/soak.json``: probes tried, kills that landed (the process was alive), kills
inside a save, pointers removed, resumes that fell back to an older checkpoint, and the verdict. Exit status 0 when
the runs match. The warm-up is built first (it is cached) so that kills land in training, not in the warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MODES = ("step", "save", "final", "timed")
POLL_S = 0.005


@dataclass
class Probe:
    index: int
    mode: str
    resumed: bool  # this process was a --resume
    landed: bool = False  # the process was alive when killed
    in_save: bool = False  # a .partial staging folder existed at the kill
    metrics_lines: int = 0  # metrics.jsonl lines at the kill
    latest: str | None = None  # what latest.json named at the kill
    pointer_removed: bool = False
    exit_code: int | None = None  # when the process ended by itself
    fell_back: bool = False  # its log says it resumed from an older checkpoint
    seconds: float = 0.0


@dataclass
class Report:
    config: dict[str, Any]
    probes: list[Probe] = field(default_factory=list)
    straight_s: float = 0.0
    soak_s: float = 0.0
    identical_metrics: bool = False
    identical_events: bool = False
    identical_weights: bool = False
    finished_resume_idempotent: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def behaved(self) -> bool:
        return (
            self.identical_metrics
            and self.identical_events
            and self.identical_weights
            and self.finished_resume_idempotent
            and not self.errors
        )


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
        return sum(1 for _ in path.open("rb"))
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
    """Start ``command``, kill it as ``probe.mode`` says (or let it end), fill in ``probe``."""
    metrics, checkpoints = run_dir / "metrics.jsonl", run_dir / "checkpoints"
    start_lines = lines(metrics)
    wanted_lines = start_lines + rng.randint(1, 3)
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
            if due or elapsed > 4 * budget_s + 120:  # a stuck probe is killed too (and reported as landed)
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
    probe.fell_back = "newest intact checkpoint" in text
    log_path.unlink()
    return text


def compare(report: Report, straight: Path, victim: Path) -> None:
    import torch  # noqa: F401  (safetensors needs it)
    from safetensors.torch import load_file

    from npo_bench.testing import without_timings
    from npo_bench.trainer.checkpoints import latest_checkpoint

    def records(path: Path) -> list[dict[str, Any]]:
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    report.identical_metrics = without_timings(records(straight / "metrics.jsonl")) == without_timings(
        records(victim / "metrics.jsonl")
    )
    report.identical_events = without_timings(records(straight / "events.jsonl")) == without_timings(
        records(victim / "events.jsonl")
    )
    a_ref, b_ref = latest_checkpoint(straight / "checkpoints"), latest_checkpoint(victim / "checkpoints")
    if a_ref is None or b_ref is None or a_ref.tag != b_ref.tag:
        report.errors.append(f"final checkpoints differ: {a_ref} vs {b_ref}")
        return
    a = {k: v for f in sorted(a_ref.path.glob("*.safetensors")) for k, v in load_file(f).items()}
    b = {k: v for f in sorted(b_ref.path.glob("*.safetensors")) for k, v in load_file(f).items()}
    report.identical_weights = a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=12, help="SIGKILL probes before the final resume [%(default)s]")
    parser.add_argument("--seed", type=int, default=0, help="run seed (and the soak's own RNG) [%(default)s]")
    parser.add_argument("--preset", default="micro", help="[%(default)s]")
    parser.add_argument("--method", help="method preset, e.g. npo_early (anchors, scouts, rollbacks)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    parser.add_argument("--no-lose-pointer", dest="lose_pointer", action="store_false", help="never delete latest.json")
    parser.add_argument("--out", help="work folder (default: a temporary one, removed unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)

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
    straight, victim = runs / "straight", runs / "victim"
    final_tag = latest_tag(straight / "checkpoints") or "?"
    print(f"uninterrupted run: {report.straight_s:.1f}s, final checkpoint {final_tag}", file=sys.stderr)

    soak_started = time.perf_counter()
    for index in range(args.kills):
        exists = (victim / "config.yaml").exists()
        command = npo_bench("run", "--resume", str(victim)) if exists else run_args(args, runs, "victim")
        probe = Probe(index, rng.choice(MODES), resumed=exists)
        text = probe_once(probe, command, victim, final_tag, report.straight_s, rng)
        if not probe.landed and probe.exit_code not in (0, None):
            report.errors.append(f"probe {index}: exit {probe.exit_code}: {text.strip().splitlines()[-1:]}")
        if args.lose_pointer and probe.landed and index % 4 == 3 and (victim / "checkpoints" / "latest.json").exists():
            (victim / "checkpoints" / "latest.json").unlink()
            probe.pointer_removed = True
        report.probes.append(probe)
        print(
            f"probe {index:2d} {probe.mode:5s} {'resume' if probe.resumed else 'start '} "
            f"{'killed' if probe.landed else f'ended {probe.exit_code}'} at {probe.metrics_lines} metrics lines, "
            f"latest={probe.latest}{' (in a save)' if probe.in_save else ''}"
            f"{', pointer removed' if probe.pointer_removed else ''}{', fell back' if probe.fell_back else ''}",
            file=sys.stderr,
        )
    finish = npo_bench("run", "--resume", str(victim)) if (victim / "config.yaml").exists() else None
    finish = finish or run_args(args, runs, "victim")
    done = subprocess.run(finish, capture_output=True, text=True)
    if done.returncode != 0:
        report.errors.append(f"final resume: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    report.soak_s = time.perf_counter() - soak_started
    before = (victim / "metrics.jsonl").read_bytes() if (victim / "metrics.jsonl").exists() else b""
    again = subprocess.run(npo_bench("run", "--resume", str(victim)), capture_output=True, text=True)
    report.finished_resume_idempotent = again.returncode == 0 and (victim / "metrics.jsonl").read_bytes() == before
    compare(report, straight, victim)

    landed = [p for p in report.probes if p.landed]
    summary = {
        "probes tried": len(report.probes),
        "kills landed": len(landed),
        "kills inside a save": sum(p.in_save for p in landed),
        "kills after the final checkpoint": sum(p.latest == final_tag for p in landed),
        "pointers removed": sum(p.pointer_removed for p in report.probes),
        "resumes that fell back": sum(p.fell_back for p in report.probes) + ("newest intact" in done.stdout),
        "identical metrics": report.identical_metrics,
        "identical events": report.identical_events,
        "identical final weights": report.identical_weights,
        "finished run resumes to itself": report.finished_resume_idempotent,
        "behaved": report.behaved,
        "uninterrupted run s": round(report.straight_s, 1),
        "soak s": round(report.soak_s, 1),
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "soak.json").write_text(
        json.dumps({"summary": summary, **asdict(report), "probes": [asdict(p) for p in report.probes]}, indent=2)
    )
    for key, value in summary.items():
        print(f"{key:34s} {value}")
    for error in report.errors:
        print(f"error: {error}")
    print(f"report: {work / 'soak.json'}")
    if not args.keep and not args.out:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if report.behaved else 1


if __name__ == "__main__":
    sys.exit(main())
