"""The ``mathverse`` benchmark plugin: ``testmini`` (788 problems × 5 versions), vision-only by default.

Fields (HF ``AI4Math/MathVerse``, config ``testmini``): ``sample_index``, ``problem_index``, ``problem_version``,
``question``, ``image``, ``answer``, ``question_type`` (``multi-choice`` / ``free-form``), ``metadata``
{``subject``, ``subfield``, …}, ``query_cot``, ``question_for_eval``. Option ``versions``: a version name, a list,
or ``"all"`` (default ``"Vision Only"``, 788 items). Scoring: :mod:`npo_bench_benchmarks.mathverse.rules` (rule
mode), or with ``--judge-url`` the official LLM extraction + 0/1 judgement (``judge_protocol``; ``question_for_eval``
is kept in the item's meta for it). Sub-scores: per version, per subject and subfield; ``mode/rule`` or
``mode/judge``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from npo_bench import hookimpl
from npo_bench.errors import UserError
from npo_bench.types import Prompt
from npo_bench_benchmarks.common import schema
from npo_bench_benchmarks.common.base import FileBenchmark, SplitSource
from npo_bench_benchmarks.common.errors import bad_row
from npo_bench_benchmarks.common.prompting import CHOICE_INSTRUCTION, OPEN_INSTRUCTION
from npo_bench_benchmarks.common.scores import accuracy_by
from npo_bench_benchmarks.common.sources import Row
from npo_bench_benchmarks.mathverse.rules import DEFAULT_VERSIONS, QUESTION_TYPES, VERSIONS, rule_for, wanted_versions

if TYPE_CHECKING:
    from npo_bench.verify import Verdict


class MathVerseBenchmark(FileBenchmark):
    """MathVerse testmini: diagram math in five text/vision versions; rule mode, or LLM-judge mode on request."""

    name = "mathverse"
    hf_id = "AI4Math/MathVerse"
    sources = {"testmini": SplitSource("testmini", "testmini", "testmini")}
    default_split = "testmini"
    record_fields = ("problem_version", "question_type", "subject")
    judge_protocol = "extract_and_judge"  # official: GPT extraction, then a GPT 0/1 judgement (§2.8)

    def __init__(self, data=None, skip_bad: bool = False, versions: str | Sequence[str] = DEFAULT_VERSIONS):
        super().__init__(data, skip_bad)
        try:
            self.versions = wanted_versions(versions)
        except ValueError as exc:
            raise UserError(f"benchmark 'mathverse': {exc}") from None

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        f, where = row.fields, row.where
        version = schema.text(f, "problem_version", where)
        if version not in VERSIONS:
            raise bad_row(where, "problem_version", f"{version!r} is not one of {', '.join(VERSIONS)}")
        if version not in self.versions:
            return []
        question_type = schema.text(f, "question_type", where)
        if question_type not in QUESTION_TYPES:
            raise bad_row(where, "question_type", f"{question_type!r} is not one of {', '.join(QUESTION_TYPES)}")
        sample = schema.text(f, "sample_index", where)
        metadata = schema.mapping(f, "metadata", where)
        instruction = CHOICE_INSTRUCTION if question_type == "multi-choice" else OPEN_INSTRUCTION
        verifier, options = rule_for(question_type)
        meta = {
            "verifier": verifier,
            "verify_options": options,
            "problem_version": version,
            "problem_index": schema.optional(f, "problem_index"),
            "question_type": question_type,
            "subject": metadata.get("subject"),
            "subfield": metadata.get("subfield"),
            "question_for_eval": schema.optional(f, "question_for_eval"),  # the judge's context (official)
        }
        question = f"{schema.text(f, 'question', where)}\n{instruction}"
        answer = schema.text(f, "answer", where)
        return [Prompt(f"mathverse/{sample}", question, answer, self.image(row, "image"), meta)]

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Accuracy overall and per version, subject and subfield; ``mode/rule`` or ``mode/judge`` = 1 says which
        scoring produced the numbers (benchmarks.md §4.3: report the mode of every number)."""
        scores = accuracy_by(prompts, verdicts, ("problem_version", "subject", "subfield", "question_type"))
        scores[f"mode/{self.scoring_mode}"] = 1.0
        return scores


@hookimpl
def npo_bench_register_benchmarks(register):
    register("mathverse", MathVerseBenchmark)
