"""What several ``npo-bench`` commands share: the configuration options, benchmark data and judge options, config
resolution from the parsed flags, the pre-flight check and score printing."""

from __future__ import annotations

import argparse
from typing import Any


def method_names() -> list[str]:
    from npo_bench.presets import builtin_config_dir

    return sorted(p.stem for p in builtin_config_dir("methods").glob("*.yaml"))


def add_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("configuration")
    group.add_argument("--preset", help="built-in preset (tiny-cpu, micro, …) [tiny-cpu]")
    group.add_argument("--method", help=f"method preset layered over the preset ({', '.join(method_names())})")
    group.add_argument("--config", metavar="FILE", help="YAML file layered over the preset and method")
    add_set_option(group, "override one key, e.g. --set trainer.lr=1e-4 (repeatable)")


def add_set_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup, help_text: str) -> None:
    """``--set KEY=VALUE`` (repeatable), collected into ``args.overrides`` for :func:`npo_bench.presets.resolve`."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help_text)


def add_benchmark_data_options(parser: argparse.ArgumentParser) -> None:
    """Where each benchmark's data lives and how it loads: shared by `eval` and `lmeval export` (same items)."""
    parser.add_argument("--data-dir", metavar="DIR", help="local data: DIR/<benchmark>/ for each file-backed benchmark")
    parser.add_argument(
        "--data", action="append", default=[], metavar="NAME=PATH", help="one benchmark's data: folder, file or hub id"
    )
    parser.add_argument(
        "--split", action="append", default=[], metavar="NAME=SPLIT", help="split other than the default"
    )
    parser.add_argument("--skip-bad", action="store_true", help="skip (and count) bad rows instead of stopping")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="one benchmark option, value as YAML, e.g. mmstar.gain=true (repeatable)",
    )


def add_judge_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("LLM judge (optional; see below)")
    group.add_argument("--judge-url", metavar="URL", help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1")
    group.add_argument("--judge-model", metavar="NAME", help="model name the judge server serves (needed with the URL)")
    group.add_argument(
        "--judge-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="environment variable holding the API key; unset = no key (local servers) [%(default)s]",
    )
    group.add_argument(
        "--judge-cache", metavar="FILE", help="jsonl cache of judge outputs, reused by later runs (no repeat calls)"
    )


def resolved_config(args: argparse.Namespace, extra: dict[str, Any] | None = None) -> Any:
    from npo_bench.presets import resolve

    preset = args.preset or "tiny-cpu"
    return resolve(preset, args.config, args.overrides, extra, method=getattr(args, "method", None))


def check_inputs(config: Any) -> None:
    """Fail before any work (and before a run directory exists): see :mod:`npo_bench.preflight`."""
    from npo_bench.preflight import check_run_inputs

    check_run_inputs(config)


def print_scores(scores: dict[str, float]) -> None:
    for key, value in scores.items():
        print(f"{key:28s} {value:.4f}")
