"""The ``mathvision`` benchmark plugin: ``test`` (3,040; the default, as RLSD's numbers imply) and ``testmini`` (304).

Fields (HF ``MathLLMs/MathVision``): ``id``, ``question`` (with ``<image1>``), ``options`` (empty for free-form),
``image`` (path) / ``decoded_image``, ``answer`` (letter for MC), ``solution``, ``level`` (1–5), ``subject`` (16).
VLMEvalKit's ``MathVision.tsv`` / ``MathVision_MINI.tsv`` also load: ``index``, ``choices`` (a Python list literal),
``category`` for the subject, base64 ``image``. Scoring: the official rule path
(:mod:`npo_bench_benchmarks.mathvision.rules`, ``mathvision_rule``). Sub-scores: per subject and per level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from npo_bench import hookimpl
from npo_bench.types import Prompt
from npo_bench_benchmarks.common import schema
from npo_bench_benchmarks.common.base import FileBenchmark, SplitSource
from npo_bench_benchmarks.common.errors import bad_row
from npo_bench_benchmarks.common.prompting import choice_question, open_question
from npo_bench_benchmarks.common.scores import accuracy_by
from npo_bench_benchmarks.common.sources import Row
from npo_bench_benchmarks.mathvision.rules import LETTERS, rule_for

if TYPE_CHECKING:
    from npo_bench.verify import Verdict


class MathVisionBenchmark(FileBenchmark):
    """MathVision test: MC (A–E) and free-form competition answers over 16 subjects and 5 levels."""

    name = "mathvision"
    hf_id = "MathLLMs/MathVision"
    sources = {"test": SplitSource("test", "test"), "testmini": SplitSource("testmini", "testmini")}
    default_split = "test"
    record_fields = ("subject", "level")

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        f, where = row.fields, row.where
        options_field = schema.first_present(f, ("options", "choices"))  # VLMEvalKit's TSV: "choices"
        options = schema.string_list(schema.optional(f, options_field), where, options_field)
        answer = schema.text(f, "answer", where)
        if options and (answer.upper() not in LETTERS[: len(options)] or len(answer) != 1):
            raise bad_row(where, "answer", f"{answer!r} is not one of the option letters {LETTERS[: len(options)]}")
        question = schema.text(f, "question", where).replace("<image1>", "").strip()
        text = choice_question(question, options) if options else open_question(question)
        field = schema.first_present(f, ("decoded_image", "image"))
        verifier, verify_options = rule_for(answer.upper() if options else answer, options)
        meta = {
            "verifier": verifier,
            "verify_options": verify_options,
            "subject": schema.optional(f, schema.first_present(f, ("subject", "category"))),
            "level": schema.optional(f, "level"),
        }
        gold = answer.upper() if options else answer
        item = schema.text(f, schema.first_present(f, ("id", "index")), where)
        return [Prompt(f"mathvision/{item}", text, gold, self.image(row, field), meta)]

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Accuracy overall, per subject and per level."""
        return accuracy_by(prompts, verdicts, ("subject", "level"))


@hookimpl
def npo_bench_register_benchmarks(register):
    register("mathvision", MathVisionBenchmark)
