"""``npo-bench compare``: plan the runs, train the missing ones, evaluate, and write the report.

Order: resolve every method × seed (:mod:`.plan`), reuse finished runs with the same key, warm up the base
checkpoint once here (so parallel workers never race to build it), train in waves — runs without inputs first,
then runs that read a finished run (RLEP reads the same-seed GRPO run) — evaluate each final checkpoint on the
benchmarks other than the run's own (its final evaluation covers that one), then tabulate.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from npo_bench.compare.cost import PlannedRun, WallTracker, load_costs, run_seconds
from npo_bench.compare.display import CompareDisplay, Line
from npo_bench.compare.executors import make_executor
from npo_bench.compare.jobs import Job, Outcome
from npo_bench.compare.plan import Spec, is_finished, launch_config, place, resolve_specs
from npo_bench.compare.results import RunResult, collect_run
from npo_bench.compare.table import Table, build_table


@dataclass
class CompareRequest:
    methods: list[str]
    seeds: list[int]
    benchmarks: list[str]
    out: Path
    preset: str = "tiny-cpu"
    config_file: str | None = None
    overrides: list[str] = field(default_factory=list)
    executor: str = "local"
    jobs: int = 1
    address: str | None = None
    cpus_per_run: float = 1.0
    reference: str = "grpo"
    data_dir: str | None = None
    show_progress: bool | None = None


@dataclass
class CompareResult:
    table: Table
    results: list[RunResult]
    specs: list[Spec]
    started: list[str]  # labels of the runs this comparison trained (new or resumed)
    files: list[Path]


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def compare(request: CompareRequest, check_inputs=None) -> CompareResult:  # noqa: ANN001 - cli.common.check_inputs
    from npo_bench.config import from_dict
    from npo_bench.trainer.warmup import base_model_dir

    specs = resolve_specs(request.methods, request.seeds, request.preset, request.config_file, request.overrides)
    runs_dir = Path(specs[0].config["runs_dir"])
    place(specs, runs_dir)
    for spec in specs:
        if check_inputs is not None and spec.needs is None and spec.state == "new":
            check_inputs(from_dict(spec.config, where=f"{spec.label} config"))
    executor = make_executor(request.executor, request.jobs, request.address, request.cpus_per_run)
    outcomes: dict[str, Outcome] = {}
    lines = [Line(s.label, s.path, s.config["trainer"]["steps"]) for s in specs]
    for spec, line in zip(specs, lines, strict=True):
        if spec.state == "reuse":
            line.state, line.step = "reused", line.total
    todo = [s for s in specs if s.state != "reuse"]
    parallel = request.jobs if request.executor == "local" else len(todo) or 1
    tracker = expected_wall(request, todo, parallel, reused=len(specs) - len(todo))
    if todo:
        base_model_dir(from_dict(todo[0].config), log)  # build (or find) the shared base once, here
    with CompareDisplay(lines, parallel, request.show_progress) as display:

        def on_start(job: Job) -> None:
            display.start_run(job.label)
            if tracker is not None:
                tracker.start(job.label)

        def on_done(outcome: Outcome) -> None:
            outcomes[outcome.label] = outcome
            display.finish_run(outcome.label, outcome.ok, outcome.error)
            line = tracker.finish(outcome.label, outcome.wall_s) if tracker is not None and outcome.ok else None
            if line:
                log(line)

        for wave in (
            [s for s in todo if s.needs is None],
            [s for s in todo if s.needs is not None],
        ):
            jobs = []
            for spec in wave:
                blocked = _blocked_by(spec, outcomes)
                if blocked:
                    on_done(Outcome(spec.label, str(spec.path), False, blocked, 0.0))
                    continue
                config = launch_config(spec)
                jobs.append(Job(spec.label, config, str(spec.path), spec.state == "resume", executor.threads))
            executor.run(jobs, on_start, on_done)
    errors = _evaluate_other_benchmarks(specs, outcomes, request)
    results = [_result(spec, outcomes, request.benchmarks, errors) for spec in specs]
    table = build_table(results, request.methods, request.benchmarks, request.reference)
    from npo_bench.compare.report import write_report

    files = write_report(request.out, table, results, _request_json(request))
    return CompareResult(table, results, specs, [s.label for s in todo], files)


def expected_wall(request: CompareRequest, todo: list[Spec], parallel: int, reused: int) -> WallTracker | None:
    """Print the comparison's expected wall time from the preset's measured step costs (None: the preset has none)."""
    from npo_bench.config import from_dict
    from npo_bench.trainer.warmup import REPORT_FILE, cache_root, warmup_key

    costs = load_costs(request.preset)
    if costs is None:
        log(f"[compare] preset {request.preset} has no measured step costs: the ETA comes from the runs' own steps")
        return None
    if not todo:
        return None
    jobs = request.jobs if request.executor == "local" else 1
    runs = [
        PlannedRun(s.label, 0 if s.needs is None else 1, run_seconds(costs, s.method, s.config, jobs)) for s in todo
    ]
    config = from_dict(todo[0].config)
    cached = (cache_root(config) / "warmup" / warmup_key(config) / REPORT_FILE).exists()
    tracker = WallTracker(runs, parallel, costs, warmup_s=0.0 if cached else costs.warmup_s)
    log(tracker.opening_line(reused))
    return tracker


def _blocked_by(spec: Spec, outcomes: dict[str, Outcome]) -> str | None:
    if spec.needs is None:
        return None
    prerequisite = outcomes.get(spec.needs.label)
    if (prerequisite is None and is_finished(spec.needs.path)) or (prerequisite is not None and prerequisite.ok):
        return None
    return f"needs the finished run {spec.needs.label}, which failed"


def _evaluate_other_benchmarks(
    specs: list[Spec], outcomes: dict[str, Outcome], request: CompareRequest
) -> dict[str, str]:
    """Evaluate each finished run's final checkpoint on the requested benchmarks it has no result for yet."""
    from npo_bench.config import from_dict
    from npo_bench.errors import UserError
    from npo_bench.model_eval import data_paths, evaluate_model
    from npo_bench.trainer.checkpoints import latest_checkpoint

    errors: dict[str, str] = {}
    for spec in specs:
        if not is_finished(spec.path):
            continue
        final = latest_checkpoint(spec.path / "checkpoints")
        for name in request.benchmarks:
            if name == spec.config["task"]["benchmark"] or _evaluated(spec.path / "eval" / f"{name}.json", final):
                continue
            log(f"[compare] evaluating {spec.label} on {name}")
            try:
                evaluate_model(from_dict(spec.config), str(spec.path), [name], data=data_paths(request.data_dir, []))
            except (UserError, OSError, ValueError) as exc:
                errors[f"{spec.label}:{name}"] = str(exc)
                log(f"[compare] {spec.label} on {name} failed: {exc}")
    return errors


def _evaluated(file: Path, final) -> bool:  # noqa: ANN001 - CheckpointRef | None
    if not file.exists() or final is None:
        return False
    try:
        return json.loads(file.read_text()).get("model") == str(final.path)
    except (OSError, json.JSONDecodeError):
        return False


def _result(spec: Spec, outcomes: dict[str, Outcome], benchmarks: list[str], errors: dict[str, str]) -> RunResult:
    outcome = outcomes.get(spec.label)
    if outcome is not None and not outcome.ok:
        return RunResult(spec.method, spec.seed, str(spec.path), status="failed", error=outcome.error)
    if not is_finished(spec.path):
        return RunResult(spec.method, spec.seed, str(spec.path), status="missing", error="not finished")
    result = collect_run(spec.method, spec.seed, spec.path, benchmarks)
    failed = [f"{key.split(':', 1)[1]}: {error}" for key, error in errors.items() if key.startswith(spec.label + ":")]
    result.error = "; ".join(failed) or None
    return result


def _request_json(request: CompareRequest) -> dict:
    data = asdict(request)
    data["out"] = str(request.out)
    return data
