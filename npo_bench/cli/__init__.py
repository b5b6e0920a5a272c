"""The ``npo-bench`` command line: one small function per command, each delegating to the library; the commands live
in :mod:`.train`, :mod:`.evaluate`, :mod:`.listing` and :mod:`.experiments`, each adding its own parsers.

Importing this module is cheap (no torch); commands import what they need when they run.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from npo_bench import __version__
from npo_bench.cli import evaluate, experiments, listing, train
from npo_bench.errors import UserError

EPILOG = """\
quick start:
  npo-bench run                              # warm-up (cached) + GRPO on the tiny CPU preset, then evaluate
  npo-bench run --source grpo --seed 1       # another seed
  npo-bench run --method npo                 # NPO, early + late interventions (configs/methods/npo.yaml)
  npo-bench run --source near_future --auto  # AutoNPO decides when and how far to roll back
  npo-bench run --resume runs/NAME           # continue a killed run exactly where it stopped
  npo-bench eval --model runs/NAME --benchmarks synthetic
  npo-bench eval --model runs/NAME --benchmarks all --data-dir data/   # the eight, from local files
  npo-bench config --explain                 # every config key with its default and meaning

configuration: defaults < --preset < --config FILE < flags < --set key=value (dotted keys, e.g. trainer.lr=1e-4).
Unknown keys and wrong types are errors. Environment: NPO_BENCH_CACHE (warm-up cache), NPO_BENCH_LOAD_PLUGINS,
NPO_BENCH_DISABLE_PLUGINS, NPO_BENCH_TRACE_PLUGINS.
"""

COMMAND_MODULES = (train, evaluate, listing, experiments)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="npo-bench",
        description="Train and evaluate NPO and its RLVR rivals (GRPO, LUFFY, ExGRPO, RLEP) through one harness.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"npo-bench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for module in COMMAND_MODULES:
        module.add_parsers(sub)

    from npo_bench.host import get_host

    get_host().hooks.register_commands(sub)  # a plugin that raises is named (npo_bench.hookcalls)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help()
            return 1
        return int(args.handler(args) or 0)
    except UserError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
