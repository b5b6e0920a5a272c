"""The base class of the file-backed benchmarks: split → source, rows → prompts, scoring through the verifiers.

A subclass declares its Hugging Face id, its splits (with the local file stem and the hub config/split of each) and
implements ``prompts_from_row`` (one row → zero or more prompts, failing with :class:`BadRow`) and ``aggregate``.
Each prompt carries the verifier and options that score it (``meta["verifier"]``, ``meta["verify_options"]``), so
``score`` is the same everywhere and the per-benchmark rules live in small pure functions chosen at load time.

A subclass whose official scorer uses an LLM names its protocol in ``judge_protocol`` (see
:mod:`npo_bench.judge`); ``use_judge`` turns it on for one evaluation (``npo-bench eval
--judge-url``), and ``score`` then follows that protocol around the same rule scoring. Off by default.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npo_bench.errors import UserError, did_you_mean
from npo_bench.types import Prompt
from npo_bench_benchmarks.common.errors import BadRow, bad_row
from npo_bench_benchmarks.common.images import check_pixels, combine, decode_images
from npo_bench_benchmarks.common.sources import Row, read_rows

if TYPE_CHECKING:
    from PIL.Image import Image

    from npo_bench.judge import Judge, JudgeSession
    from npo_bench.verify import Verdict


@dataclass(frozen=True)
class SplitSource:
    """Where one split lives: ``<data>/<stem>.{jsonl,parquet,tsv}`` locally, ``(hf_config, hf_split)`` on the hub."""

    stem: str
    hf_split: str
    hf_config: str | None = None


class FileBenchmark:
    """Shared loading and scoring; see the module docstring. Options: ``data`` (path or hub id), ``skip_bad``."""

    name = "file_benchmark"
    hf_id = ""
    sources: Mapping[str, SplitSource] = {}
    default_split = ""
    prompt_template = "{question}"  # the question text already ends with the benchmark's instruction
    record_fields: tuple[str, ...] = ()  # meta keys copied into per-item eval records
    judge_protocol: str | None = None  # the official scorer's LLM step: "extract", "extract_and_judge", …

    def __init__(self, data: str | Path | None = None, skip_bad: bool = False):
        self.data = str(data) if data else self.hf_id
        self.skip_bad = skip_bad
        self.skipped: list[str] = []  # one message per row skipped by the last load (skip_bad)
        self.judge_session: JudgeSession | None = None  # set by use_judge; None: rule scoring only

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.sources)

    def load(self, split: str, size: int | None, seed: int) -> list[Prompt]:
        """Prompts of the first ``size`` usable rows of ``split`` in file order (``seed`` is unused: no sampling).

        A bad row (unparseable, a missing or malformed field, an unreadable or oversized image, an item id that an
        earlier row already used) raises its :class:`BadRow`, or with ``skip_bad`` is counted in ``skipped``.
        """
        source = self.source(split)
        self.skipped = []
        prompts: list[Prompt] = []
        first_seen: dict[str, str] = {}  # item id -> the row that had it
        used = 0
        for row in self.rows(source):
            if size is not None and used >= size:
                break
            try:
                made = self._prompts(row, split)
                for prompt in made:
                    if prompt.id in first_seen:
                        raise bad_row(
                            row.where, None, f"duplicate item id {prompt.id!r} (also {first_seen[prompt.id]})"
                        )
            except BadRow as exc:
                if not self.skip_bad:
                    raise
                self.skipped.append(exc.message)
                continue
            first_seen.update({prompt.id: row.where for prompt in made})
            used += bool(made)
            prompts.extend(made)
        if not prompts:
            raise UserError(f"benchmark {self.name!r} split {split!r}: no usable items in {self.data}")
        return prompts

    def source(self, split: str) -> SplitSource:
        if split not in self.sources:
            raise UserError(f"benchmark {self.name!r} has no split {split!r}", hint=did_you_mean(split, self.sources))
        return self.sources[split]

    def rows(self, source: SplitSource) -> Iterator[Row]:
        """The rows of one split's source (a benchmark whose split spans several files overrides this)."""
        return read_rows(self.data, source.stem, source.hf_config, source.hf_split)

    def _prompts(self, row: Row, split: str) -> list[Prompt]:
        """``prompts_from_row``, with an unparseable row's error raised and any other failure made a bad row."""
        if row.error is not None:
            raise row.error
        try:
            return self.prompts_from_row(row, split)
        except UserError:
            raise
        except Exception as exc:  # a value the benchmark's reader did not expect: still a bad row, named
            text = str(exc).strip().splitlines()
            raise bad_row(row.where, None, f"cannot be read ({type(exc).__name__}: {text[0] if text else ''})") from exc

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        raise NotImplementedError

    def image(self, row: Row, field: str) -> Image:
        images = decode_images(row.fields.get(field), row.base_dir, row.where, field)
        if len(images) > 1:
            width, height = sum(i.width for i in images), max(i.height for i in images)
            check_pixels(width, height, row.where, field, f"{len(images)} images side by side")
        return combine(images)

    def use_judge(self, judge: Judge) -> JudgeSession | None:
        """Score with ``judge`` under this benchmark's ``judge_protocol``; None (rules only) when it has none."""
        self.judge_session = judge.session(self.name, self.judge_protocol) if self.judge_protocol else None
        return self.judge_session

    @property
    def scoring_mode(self) -> str:
        """``"judge"`` while an LLM judge takes part in scoring, else ``"rule"`` (reported as ``mode/…``)."""
        return "judge" if self.judge_session is not None else "rule"

    def score(self, prompt: Prompt, response: str) -> Verdict:
        """The rule score of :meth:`rule_score`, or the judge protocol around it when a judge is in use."""
        if self.judge_session is None:
            return self.rule_score(prompt, response)
        return self.judge_session.score(prompt, response, lambda text: self.rule_score(prompt, text))

    def rule_score(self, prompt: Prompt, response: str) -> Verdict:
        """Extract and verify with the verifier and options chosen for this item when it was loaded."""
        from npo_bench.verify import verify

        options: dict[str, Any] = dict(prompt.meta.get("verify_options", {}))
        return verify(response, prompt.answer, verifier=prompt.meta["verifier"], item_id=prompt.id, **options)

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        raise NotImplementedError
