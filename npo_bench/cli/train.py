"""``npo-bench run`` and ``npo-bench warmup``: train one run (or resume it), build the cached base."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from npo_bench.cli.common import add_config_options, check_inputs, print_scores, resolved_config
from npo_bench.errors import UserError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help=cmd_run.__doc__, description=cmd_run.__doc__)
    add_config_options(run)
    run.add_argument("--source", help="guidance source plugin (see `npo-bench plugins`) [grpo]")
    run.add_argument("--auto", action="store_true", help="AutoNPO: the near_future source decides when/how far")
    run.add_argument("--seed", type=int, help="RL seed [0]")
    run.add_argument("--steps", type=int, help="optimizer steps (trainer.steps)")
    run.add_argument("--name", help="run directory name (default: PRESET-SOURCE-seedN-TIMESTAMP)")
    run.add_argument("--runs-dir", help="parent folder of run directories [runs]")
    run.add_argument("--resume", metavar="RUN", help="continue the run directory RUN from its newest checkpoint")
    run.add_argument("--backend", help="training backend: embedded (default) | openrlhf (config key `backend`)")
    run.add_argument(
        "--dry-run", action="store_true", help="print what would run (openrlhf: its flags, the Ray job); start nothing"
    )
    run.set_defaults(handler=cmd_run)

    warm = sub.add_parser("warmup", help=cmd_warmup.__doc__, description=cmd_warmup.__doc__)
    add_config_options(warm)
    warm.add_argument("--force", action="store_true", help="rebuild even when cached")
    warm.set_defaults(handler=cmd_warmup)


def cmd_run(args: argparse.Namespace) -> int:
    """Train one run (warm-up cached), evaluating the base, every few steps and at the end."""
    from npo_bench.config import from_dict
    from npo_bench.runs import RunDir
    from npo_bench.trainer.loop import Run, create_run

    if args.resume:
        _refuse_config_flags_on_resume(args)
        run = RunDir.open(Path(args.resume), lock=True)  # one writer: fail now if another process holds it
        config = from_dict(run.resolved_config(), where=str(run.path / "config.yaml"))
    else:
        extra: dict[str, Any] = {}
        if args.source:
            extra.setdefault("source", {})["name"] = args.source
        if args.auto:
            extra.setdefault("source", {}).setdefault("options", {})["auto"] = True
        if args.seed is not None:
            extra["seed"] = args.seed
        if args.name is not None:
            extra["name"] = args.name
        if args.steps is not None:
            extra.setdefault("trainer", {})["steps"] = args.steps
        if args.runs_dir is not None:
            extra["runs_dir"] = args.runs_dir
        if args.backend:
            extra["backend"] = args.backend
        config = resolved_config(args, extra)
        check_inputs(config)
        if args.dry_run:
            return _dry_run(config)
        passed = {"preset": args.preset or "tiny-cpu", "config": args.config, "overrides": args.overrides}
        run = create_run(config, {**passed, "flags": extra})
        print(f"run directory: {run.path}", file=sys.stderr)  # known before any work, in case it gets killed
    launch = getattr(_backend_class(config), "launch", None)  # a backend that drives its own cluster (openrlhf)
    try:
        final = launch(config, run, bool(args.resume)) if launch else Run(config, run).execute(resume=bool(args.resume))
    except KeyboardInterrupt:
        if run.path.exists():
            print(f"\ninterrupted; continue with: npo-bench run --resume {run.path}", file=sys.stderr)
        else:
            print(f"\ninterrupted before the first checkpoint; {run.path} was removed", file=sys.stderr)
        return 130
    except UserError as exc:  # mid-run (a plugin fault, a full disk, …): say how to go on
        _add_resume_hint(exc, run.path)
        raise
    print_scores(final)
    print(f"run directory: {run.path}")
    return 0


def _backend_class(config: Any) -> Any:
    from npo_bench.host import get_host

    return get_host().get("backend", config.backend).load()


def _dry_run(config: Any) -> int:
    """Print what a run would do without starting anything: the backend's own plan, else the resolved config."""
    import yaml

    from npo_bench.config import to_dict

    plan = getattr(_backend_class(config), "dry_run", None)
    print(plan(config) if plan else yaml.safe_dump(to_dict(config), sort_keys=False), end="")
    return 0


RESUME_CONFLICTS = (
    "preset",
    "method",
    "config",
    "source",
    "auto",
    "seed",
    "name",
    "steps",
    "runs_dir",
    "overrides",
    "backend",
    "dry_run",
)


def _refuse_config_flags_on_resume(args: argparse.Namespace) -> None:
    """A resumed run keeps its own config (else it would not continue identically): config flags are an error."""
    given = [name for name in RESUME_CONFLICTS if getattr(args, name, None) not in (None, False, [])]
    if given:
        flags = ", ".join("--set" if name == "overrides" else "--" + name.replace("_", "-") for name in given)
        raise UserError(
            f"{flags} cannot be combined with --resume: a resumed run keeps the config in {args.resume}/config.yaml",
            hint="start a new run to change settings",
        )


def _add_resume_hint(exc: UserError, run_path: Path) -> None:
    from npo_bench.trainer.checkpoints import resume_candidates

    if run_path.exists() and resume_candidates(run_path / "checkpoints")[0]:
        resume = f"the run stopped; once fixed, continue it with: npo-bench run --resume {run_path}"
        exc.hint = f"{exc.hint}; {resume}" if exc.hint and "--resume" not in exc.hint else (exc.hint or resume)


def cmd_warmup(args: argparse.Namespace) -> int:
    """Build (or reuse) the SFT-warmed base checkpoint of a preset and print its regime report."""
    from npo_bench.trainer.warmup import (
        REPORT_FILE,
        base_model_dir,
        cache_root,
        regime_verdict,
        run_warmup,
        warmup_key,
    )

    config = resolved_config(args)
    target = cache_root(config) / "warmup" / warmup_key(config)
    if args.force or not (target / REPORT_FILE).exists():
        run_warmup(config, target, lambda line: print(line, file=sys.stderr))
    path = base_model_dir(config)
    report = json.loads((path / REPORT_FILE).read_text())
    print(json.dumps(report, indent=2))
    print(f"regime: {report.get('regime') or regime_verdict(report)}")
    print(f"base checkpoint: {path}")
    return 0
