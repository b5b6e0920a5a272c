"""What the launcher hands to every Ray process of a run: the run directory (on storage all nodes share) in one
environment variable, and from it the resolved config, the benchmark, the training prompts and their export.

The exported dataset is OpenRLHF's prompt file: one row per training prompt with the chat text (``<image>`` marks
where OpenRLHF's ``PromptDataset`` puts the image, the layout of the embedded backend's ``format_messages``), the
image file, and ``label`` = the npo-bench prompt id — the gold answer never leaves the verifier.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npo_bench.benchmark import make_benchmark
from npo_bench.config import RunConfig, from_dict
from npo_bench.errors import UserError
from npo_bench.runs import RunDir
from npo_bench.types import Prompt

RUN_ENV = "NPO_BENCH_OPENRLHF_RUN"
RESUME_ENV = "NPO_BENCH_OPENRLHF_RESUME"
IMAGE_TAG = "<image>"


@dataclass(frozen=True)
class Job:
    run_dir: Path
    resume: bool = False

    @property
    def folder(self) -> Path:
        return self.run_dir / "openrlhf"

    @property
    def dataset(self) -> Path:
        return self.folder / "train.jsonl"

    @property
    def deepspeed(self) -> Path:
        return self.folder / "deepspeed"

    def env(self) -> dict[str, str]:
        return {RUN_ENV: str(self.run_dir), RESUME_ENV: "1" if self.resume else "0"}

    @functools.cached_property
    def config(self) -> RunConfig:
        run = RunDir.open(self.run_dir)
        return from_dict(run.resolved_config(), where=str(self.run_dir / "config.yaml"))

    @functools.cached_property
    def options(self) -> dict[str, Any]:
        """The resolved ``backend_options``."""
        from npo_bench_plugins.openrlhf.options import resolve_options

        return resolve_options(self.config.backend_options)

    @functools.cached_property
    def benchmark(self) -> Any:
        return make_benchmark(self.config.task.benchmark, self.config.task.options)

    @functools.cached_property
    def train_prompts(self) -> list[Prompt]:
        t = self.config.task
        return list(self.benchmark.load(t.train_split, t.train_size, t.seed))

    @functools.cached_property
    def test_prompts(self) -> list[Prompt]:
        """The held-out items the run evaluates (the same call as the embedded loop's)."""
        t, e = self.config.task, self.config.eval
        return list(self.benchmark.load(t.test_split, e.size or t.test_size, t.seed))

    @functools.cached_property
    def prompt_index(self) -> dict[str, Prompt]:
        """Every prompt a rollout's label can name: training prompts and the evaluated held-out items (the engines'
        verifier looks the label up here in its own process)."""
        return {p.id: p for p in [*self.train_prompts, *self.test_prompts]}


def current_job() -> Job:
    """The job of this Ray process (set by the launcher through the runtime environment)."""
    run_dir = os.environ.get(RUN_ENV)
    if not run_dir:
        raise UserError(f"{RUN_ENV} is not set: this process was not started by `npo-bench run --backend openrlhf`")
    return Job(Path(run_dir), os.environ.get(RESUME_ENV) == "1")


def prompt_row(prompt: Prompt, template: str, image_path: Path | None) -> dict[str, Any]:
    text = template.format(question=prompt.question)
    row: dict[str, Any] = {"prompt": (IMAGE_TAG if image_path is not None else "") + text, "label": prompt.id}
    if image_path is not None:
        row["images"] = [str(image_path)]
    return row


def export_prompts(job: Job, prompts: list[Prompt]) -> Path:
    """Write the prompt file (and each image as PNG) that ``--data.prompt_dataset`` points at; atomic."""
    images = job.folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    staging = job.dataset.with_suffix(".partial")
    with staging.open("w") as out:
        for prompt in prompts:
            path = None
            if prompt.image is not None:
                path = images / f"{_safe(prompt.id)}.png"
                if not path.exists():  # written under a temporary name: a kill mid-write never leaves a torn PNG
                    partial = path.with_name(f".{path.name}.partial")
                    prompt.image.save(partial, format="PNG")
                    partial.rename(path)
            out.write(json.dumps(prompt_row(prompt, job.config.task.prompt_template, path)) + "\n")
    staging.rename(job.dataset)
    return job.dataset


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
