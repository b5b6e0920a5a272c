"""Which runs a comparison needs, and which of them already exist.

Every (method, seed) resolves to a full config exactly like ``npo-bench run --method M --seed S`` would. Its *key* is a
hash of that resolved config without the fields that only say where things live (``name``, ``runs_dir``,
``cache_dir``), so a finished run with the same key — made by an earlier ``compare`` or by hand — is reused and never
retrained; an unfinished one is resumed. A new run is named ``METHOD-seedS-KEY8`` under ``runs_dir``, so two
different configs never share a directory.

Some sources train on a *finished run* (RLEP's ``far_future`` reads ``source.options.run``). :data:`RUN_INPUTS`
says which option and which method supplies it: compare plans the same-seed run of that method first and fills
the option in, unless it was set explicitly. In a key, such an option holds the key of the run it names
(``run:KEY``), so the same inputs give the same key wherever the finished run lives.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from npo_bench.config import config_hash, to_dict
from npo_bench.presets import resolve

LOCATION_FIELDS = ("name", "runs_dir", "cache_dir")


@dataclass(frozen=True)
class RunInput:
    option: str  # the source option that names a finished run
    method: str  # the method whose same-seed run fills it


RUN_INPUTS: dict[str, RunInput] = {"far_future": RunInput(option="run", method="grpo")}


@dataclass
class Spec:
    method: str
    seed: int
    config: dict[str, Any]  # resolved config as plain data (name/runs_dir filled in when planned)
    key: str
    needs: Spec | None = None  # a run that must finish first (its path goes into ``config``)
    path: Path | None = None
    state: str = "new"  # new | resume | reuse
    shown: bool = True  # a row of the table (False: only a prerequisite)

    @property
    def label(self) -> str:
        return f"{self.method}/seed{self.seed}"


def run_key(config: dict[str, Any], input_key: str | None = None) -> str:
    """The reuse key of a resolved config; ``input_key`` replaces the finished-run option (see module doc)."""
    data = copy.deepcopy(config)
    for name in LOCATION_FIELDS:
        data.pop(name, None)
    run_input = RUN_INPUTS.get(data.get("source", {}).get("name"))
    if run_input is not None and input_key is not None:
        data["source"]["options"][run_input.option] = f"run:{input_key}"
    return config_hash(data)


def key_of_run_dir(path: Path, _depth: int = 0) -> str | None:
    """The reuse key of an existing run directory (None when unreadable)."""
    try:
        config = yaml.safe_load((path / "config.yaml").read_text())["resolved"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    run_input = RUN_INPUTS.get(config.get("source", {}).get("name"))
    input_key = None
    if run_input is not None and _depth < 4:
        named = config["source"].get("options", {}).get(run_input.option)
        input_key = key_of_run_dir(Path(named), _depth + 1) if named else None
    return run_key(config, input_key)


def is_finished(path: Path) -> bool:
    meta = path / "meta.json"
    try:
        return bool(json.loads(meta.read_text()).get("ended"))
    except (OSError, json.JSONDecodeError):
        return False


def index_runs(runs_dir: Path) -> dict[str, list[Path]]:
    """key → run directories under ``runs_dir`` with that key, finished ones first."""
    index: dict[str, list[Path]] = {}
    if not runs_dir.is_dir():
        return index
    for path in sorted(runs_dir.iterdir()):
        if (path / "config.yaml").is_file():
            key = key_of_run_dir(path)
            if key is not None:
                index.setdefault(key, []).append(path)
    for paths in index.values():
        paths.sort(key=lambda p: not is_finished(p))
    return index


def resolve_specs(
    methods: list[str],
    seeds: list[int],
    preset: str,
    config_file: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> list[Spec]:
    """Specs for every method × seed, prerequisites (not shown in the table unless asked for) planned first."""
    specs: dict[tuple[str, int], Spec] = {}

    def spec(method: str, seed: int, shown: bool) -> Spec:
        if (method, seed) in specs:
            specs[(method, seed)].shown |= shown
            return specs[(method, seed)]
        config = to_dict(resolve(preset, config_file, list(overrides), {"seed": seed}, method=method))
        run_input = RUN_INPUTS.get(config["source"]["name"])
        needs = None
        if run_input is not None and not config["source"]["options"].get(run_input.option):
            needs = spec(run_input.method, seed, shown=False)
        made = Spec(method, seed, config, run_key(config, needs.key if needs else None), needs, shown=shown)
        specs[(method, seed)] = made
        return made

    for seed in seeds:
        for method in methods:
            spec(method, seed, shown=True)
    return sorted(specs.values(), key=lambda s: (s.needs is not None, s.seed, s.method))


def place(specs: list[Spec], runs_dir: Path) -> None:
    """Give every spec its directory: an existing finished run (reuse), an unfinished one (resume) or a new name."""
    index = index_runs(runs_dir)
    for spec in specs:
        existing = index.get(spec.key, [])
        if existing:
            spec.path = existing[0]
            spec.state = "reuse" if is_finished(existing[0]) else "resume"
        else:
            spec.path = runs_dir / f"{spec.method}-seed{spec.seed}-{spec.key[:8]}"
            spec.state = "new"
        spec.config["name"], spec.config["runs_dir"] = spec.path.name, str(spec.path.parent)


def launch_config(spec: Spec) -> dict[str, Any]:
    """The config a run starts with: the finished-run option pointing at the prerequisite's directory."""
    config = copy.deepcopy(spec.config)
    if spec.needs is not None:
        option = RUN_INPUTS[config["source"]["name"]].option
        config["source"]["options"][option] = str(spec.needs.path)
    return config
