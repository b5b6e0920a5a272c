"""``npo-bench plugins``, ``npo-bench sources`` and ``npo-bench config``: what is installed and what it takes."""

from __future__ import annotations

import argparse
import json

from npo_bench.cli.common import add_config_options, resolved_config


def add_parsers(sub: argparse._SubParsersAction) -> None:
    plugins = sub.add_parser("plugins", help=cmd_plugins.__doc__, description=cmd_plugins.__doc__)
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(handler=cmd_plugins)

    sources = sub.add_parser("sources", help=cmd_sources.__doc__, description=cmd_sources.__doc__)
    sources.set_defaults(handler=cmd_sources)

    config = sub.add_parser("config", help=cmd_config.__doc__, description=cmd_config.__doc__)
    add_config_options(config)
    config.add_argument("--explain", action="store_true", help="list every key with its default and meaning")
    config.set_defaults(handler=cmd_config)


def cmd_plugins(args: argparse.Namespace) -> int:
    """List every plugin with its version, hooks and what it registers."""
    from npo_bench.host import get_host

    rows = get_host().describe_plugins()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    backends = {f"backend:{r.name}": r.summary for r in get_host().registry("backend")}
    for row in rows:
        version = f" {row['version']}" if row["version"] else ""
        print(f"{row['name']}{version}: {', '.join(row['registers']) or '(no registrations)'}")
        print(f"    hooks: {', '.join(row['hooks'])}")
        for registered in row["registers"]:
            if registered in backends:  # a backend says what it is and whether it can run here
                print(f"    {registered}: {backends[registered]}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    """List guidance sources: a one-line description and every option with its default, meaning and limits."""
    from npo_bench.host import get_host
    from npo_bench.options import describe_limits

    for registration in get_host().registry("source"):
        source = registration.load()
        print(f"{registration.name}  ({registration.plugin}): {registration.summary}")
        for option, spec in sorted(getattr(source, "options", {}).items()):
            default, meaning = spec
            print(f"    {option:18s} {json.dumps(default):28s} {meaning}{describe_limits(spec)}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the resolved config as YAML (or every key's meaning with --explain)."""
    import yaml

    from npo_bench.config import explain, to_dict

    if args.explain:
        for key, default, help_text in explain():
            print(f"{key:32s} {default:18s} {help_text}")
        return 0
    print(yaml.safe_dump(to_dict(resolved_config(args)), sort_keys=False), end="")
    return 0
