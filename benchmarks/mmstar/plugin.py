"""The ``mmstar`` benchmark plugin: split ``val`` (1,500 items, letters A–D).

Fields (HF ``Lin-Chen/MMStar``): ``index``, ``question`` (options embedded), ``image``, ``answer`` (letter),
``category`` (six core capabilities), ``l2_category`` (18 axes), ``meta_info``. Scoring:
:mod:`npo_bench_benchmarks.mmstar.rules`. Sub-scores as the official evaluator reports them: accuracy per core
capability (``category/…``) and per axis (``l2_category/…``). MG/ML (multimodal gain / leakage) need a second,
text-only run and are not computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from npo_bench import hookimpl
from npo_bench.types import Prompt
from npo_bench_benchmarks.common import schema
from npo_bench_benchmarks.common.base import FileBenchmark, SplitSource
from npo_bench_benchmarks.common.errors import bad_row
from npo_bench_benchmarks.common.prompting import CHOICE_INSTRUCTION, choice_question
from npo_bench_benchmarks.common.scores import accuracy_by
from npo_bench_benchmarks.common.sources import Row
from npo_bench_benchmarks.mmstar.rules import N_OPTIONS, rule_for, split_options

if TYPE_CHECKING:
    from npo_bench.verify import Verdict


class MMStarBenchmark(FileBenchmark):
    """MMStar val: vision-indispensable multiple choice (A–D) over six core capabilities × 18 axes."""

    name = "mmstar"
    hf_id = "Lin-Chen/MMStar"
    sources = {"val": SplitSource("val", "val")}
    default_split = "val"
    record_fields = ("category", "l2_category")
    judge_protocol = "choice_fallback"  # VLMEvalKit: can_infer, then GPT when no letter is found (§2.7)

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        f, where = row.fields, row.where
        index = schema.text(f, "index", where)
        answer = schema.text(f, "answer", where).upper()
        if answer not in "ABCD"[:N_OPTIONS] or len(answer) != 1:
            raise bad_row(where, "answer", f"{answer!r} is not an option letter A–D")
        stem, options = split_options(schema.text(f, "question", where))
        question = choice_question(stem, options) if options else f"{stem}\n{CHOICE_INSTRUCTION}"
        verifier, verify_options = rule_for(options)
        meta = {
            "verifier": verifier,
            "verify_options": verify_options,
            "category": schema.text(f, "category", where),
            "l2_category": schema.optional(f, "l2_category"),
        }
        return [Prompt(f"mmstar/{index}", question, answer, self.image(row, "image"), meta)]

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Overall accuracy, per core capability and per l2 axis."""
        return accuracy_by(prompts, verdicts, ("category", "l2_category"))


@hookimpl
def npo_bench_register_benchmarks(register):
    register("mmstar", MMStarBenchmark)
