"""The ``mathverse`` benchmark plugin: ``testmini`` (788 problems × six versions), vision-only by default.

Fields (HF ``AI4Math/MathVerse``, config ``testmini``: five versions, 3,940 rows; config ``testmini_text_only``:
the Text Only version, 788 rows whose ``image`` is empty): ``sample_index``, ``problem_index``, ``problem_version``,
``question`` (multiple-choice options in a ``Choices:`` block), ``image``, ``answer``, ``question_type``
(``multi-choice`` / ``free-form``), ``metadata`` {``split``, ``source``, ``subject``, ``subfield``}, ``query_wo``,
``query_cot``, ``question_for_eval``. VLMEvalKit's ``MathVerse_MINI*.tsv`` also load: ``index``, ``metadata`` as a
Python dict literal, base64 ``image`` (or another row's ``index``), no ``question_type`` (a one-letter answer is
multiple choice). Locally the Text Only rows may sit in ``testmini.*`` or in ``testmini_text_only.*`` beside it.

Option ``versions``: a version name, a list, or ``"all"`` (the six; default ``"Vision Only"``, 788 items). A Text
Only item has no image: it is a text-only prompt (``image=None``), as MMStar's text-only twins are. Scoring:
:mod:`npo_bench_benchmarks.mathverse.rules` (rule mode, ``mathverse_rule``), or with ``--judge-url`` the official
LLM extraction + 0/1 judgement (``judge_protocol``; ``question_for_eval`` is kept in the item's meta for it).
Sub-scores: per version, per subject and subfield; ``overall`` (the official one: the five image versions, when all
five ran); ``mode/rule`` or ``mode/judge``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from npo_bench import hookimpl
from npo_bench.errors import UserError
from npo_bench.types import Prompt
from npo_bench_benchmarks.common import schema
from npo_bench_benchmarks.common.base import FileBenchmark, SplitSource
from npo_bench_benchmarks.common.errors import bad_row
from npo_bench_benchmarks.common.prompting import CHOICE_INSTRUCTION, OPEN_INSTRUCTION
from npo_bench_benchmarks.common.scores import accuracy_by, mean
from npo_bench_benchmarks.common.sources import Row, find_split_file, read_rows
from npo_bench_benchmarks.mathverse.rules import (
    DEFAULT_VERSIONS,
    IMAGE_VERSIONS,
    QUESTION_TYPES,
    TEXT_ONLY,
    VERSIONS,
    rule_for,
    split_choices,
    wanted_versions,
)

if TYPE_CHECKING:
    from npo_bench.verify import Verdict

TEXT_ONLY_SOURCE = SplitSource("testmini_text_only", "testmini", "testmini_text_only")


class MathVerseBenchmark(FileBenchmark):
    """MathVerse testmini: diagram math in six text/vision versions; rule mode, or LLM-judge mode on request."""

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

    def rows(self, source: SplitSource) -> Iterator[Row]:
        """The split's rows, then — when Text Only is wanted and lives apart — the text-only set's rows."""
        yield from super().rows(source)
        if TEXT_ONLY in self.versions and source.stem == "testmini":
            folder = Path(self.data).expanduser()
            if folder.is_dir():
                try:
                    find_split_file(folder, TEXT_ONLY_SOURCE.stem)
                except UserError:
                    return  # a folder without testmini_text_only.*: its Text Only rows, if any, are in testmini.*
                yield from read_rows(self.data, TEXT_ONLY_SOURCE.stem, None, TEXT_ONLY_SOURCE.hf_split)
            elif not folder.exists():
                yield from read_rows(self.data, "", TEXT_ONLY_SOURCE.hf_config, TEXT_ONLY_SOURCE.hf_split)

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        f, where = row.fields, row.where
        version = schema.text(f, "problem_version", where)
        if version not in VERSIONS:
            raise bad_row(where, "problem_version", f"{version!r} is not one of {', '.join(VERSIONS)}")
        if version not in self.versions:
            return []
        question, answer = schema.text(f, "question", where), schema.text(f, "answer", where)
        question_type = _question_type(f, answer, where)
        sample = schema.text(f, schema.first_present(f, ("sample_index", "index")), where)
        metadata = schema.mapping(f.get("metadata"), where, "metadata")
        options = split_choices(question) if question_type == "multi-choice" else []
        verifier, verify_options = rule_for(question_type, options)
        meta = {
            "verifier": verifier,
            "verify_options": verify_options,
            "problem_version": version,
            "problem_index": schema.optional(f, "problem_index"),
            "question_type": question_type,
            "subject": metadata.get("subject"),
            "subfield": metadata.get("subfield"),
            "question_for_eval": schema.optional(f, "question_for_eval"),  # the judge's context (official)
        }
        instruction = CHOICE_INSTRUCTION if question_type == "multi-choice" else OPEN_INSTRUCTION
        image = None if version == TEXT_ONLY and schema.is_missing(f.get("image")) else self.image(row, "image")
        return [Prompt(f"mathverse/{sample}", f"{question}\n{instruction}", answer, image, meta)]

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Accuracy overall and per version, subject and subfield; ``overall`` over the five image versions (the
        official overall score) when all five ran; ``mode/rule`` or ``mode/judge`` = 1 says which scoring produced
        the numbers (benchmarks.md §4.3: report the mode of every number)."""
        scores = accuracy_by(prompts, verdicts, ("problem_version", "subject", "subfield", "question_type"))
        if all(f"problem_version/{v}" in scores for v in IMAGE_VERSIONS):
            pairs = zip(prompts, verdicts, strict=True)
            scores["overall"] = mean(v.correct for p, v in pairs if p.meta["problem_version"] in IMAGE_VERSIONS)
        scores[f"mode/{self.scoring_mode}"] = 1.0
        return scores


def _question_type(fields: dict, answer: str, where: str) -> str:
    """``question_type``, or — VLMEvalKit's TSV has none — multiple choice when the answer is one letter A–E."""
    if schema.is_missing(fields.get("question_type")):
        return "multi-choice" if len(answer) == 1 and answer in "ABCDE" else "free-form"
    question_type = schema.text(fields, "question_type", where)
    if question_type not in QUESTION_TYPES:
        raise bad_row(where, "question_type", f"{question_type!r} is not one of {', '.join(QUESTION_TYPES)}")
    return question_type


@hookimpl
def npo_bench_register_benchmarks(register):
    register("mathverse", MathVerseBenchmark)
