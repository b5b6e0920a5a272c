"""The ``mmbench`` benchmark plugin: ``dev`` (English, the default) and ``dev_cn``, scored with circular evaluation.

Fields (VLMEvalKit ``MMBench_DEV_EN.tsv`` / HF ``lmms-lab/MMBench``): ``index``, ``question``, ``hint``, ``A``…``D``
(a missing option is an empty cell in the TSV and the string ``"nan"`` on the hub, as is a missing hint),
``answer`` (letter), ``category`` (20 leaf abilities), ``l2-category`` (``L2-category`` on the hub; 6 L2 abilities),
``image`` (base64 in the TSV; a circular copy's cell names the original's ``index``). Every pass is scored by
VLMEvalKit's ``can_infer`` (the ``vlmevalkit_choice`` verifier: a lone option letter, "answer is X", or the one
option whose text a short answer contains; the GPT fallback for answers it cannot map runs only with
``--judge-url``). Circular rules: :mod:`.circular`.

Reported as the official evaluator does: ``accuracy`` (circular, over questions), per ``l2-category`` and
``category`` (circular), plus ``single_pass_accuracy`` (first pass only, the non-circular "vanilla" score).
Version assumption (benchmarks.md §2.6 leaves it open): MMBench v1.0 dev, English.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from npo_bench import hookimpl
from npo_bench.types import Prompt
from npo_bench_benchmarks.common import schema
from npo_bench_benchmarks.common.base import FileBenchmark, SplitSource
from npo_bench_benchmarks.common.errors import bad_row
from npo_bench_benchmarks.common.prompting import choice_question
from npo_bench_benchmarks.common.scores import mean, sample_indices
from npo_bench_benchmarks.common.sources import Row
from npo_bench_benchmarks.mmbench.circular import LETTERS, circular_correct, is_circular_copy, rotations

if TYPE_CHECKING:
    from npo_bench.verify import Verdict


class MMBenchBenchmark(FileBenchmark):
    """MMBench dev (v1.0, English by default): circular multiple choice over 20 abilities in 6 L2 groups."""

    name = "mmbench"
    hf_id = "lmms-lab/MMBench"
    sources = {"dev": SplitSource("dev_en", "dev", "en"), "dev_cn": SplitSource("dev_cn", "dev", "cn")}
    default_split = "dev"
    record_fields = ("question_index", "shift", "category", "l2_category")
    judge_protocol = "choice_fallback"  # VLMEvalKit: can_infer, then GPT when no letter is found

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        f, where = row.fields, row.where
        index = _index(f, where)
        if is_circular_copy(index):
            return []
        options = schema.letter_columns(f, LETTERS)
        if len(options) < 2:
            raise bad_row(where, "A", "fewer than two options (columns A, B, …)")
        answer = schema.text(f, "answer", where).upper()
        if len(answer) != 1 or answer not in LETTERS[: len(options)]:
            raise bad_row(where, "answer", f"{answer!r} is not one of the option letters {LETTERS[: len(options)]}")
        question, hint = schema.text(f, "question", where), schema.optional(f, "hint")
        if isinstance(hint, str) and hint.strip().lower() == "nan":
            hint = None
        image = self.image(row, "image")
        base = {
            "verifier": "vlmevalkit_choice",
            "question_index": index,
            "category": schema.text(f, "category", where),
            "l2_category": schema.optional(f, schema.first_present(f, ("l2-category", "L2-category", "l2_category"))),
        }
        return [
            Prompt(
                f"mmbench/{index}/shift{k}",
                choice_question(question, shifted, hint),
                gold,
                image,
                {**base, "shift": k, "verify_options": {"options": shifted}},
            )
            for k, (shifted, gold) in enumerate(rotations(options, answer))
        ]

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Circular accuracy overall, per L2 ability and per ability; single-pass accuracy of the unshifted pass."""
        samples = sample_indices(prompts)
        passed = circular_correct(
            [(str(p.meta["question_index"]), s, v.correct) for p, s, v in zip(prompts, samples, verdicts, strict=True)]
        )
        info = {str(p.meta["question_index"]): p.meta for p in prompts}
        buckets: dict[str, list[bool]] = defaultdict(list)
        for (question, _), correct in passed.items():
            buckets["accuracy"].append(correct)
            buckets[f"l2_category/{info[question]['l2_category']}"].append(correct)
            buckets[f"category/{info[question]['category']}"].append(correct)
        first = [v.correct for p, v in zip(prompts, verdicts, strict=True) if p.meta["shift"] == 0]
        scores = {key: mean(values) for key, values in sorted(buckets.items())}
        scores["single_pass_accuracy"] = mean(first)
        return scores


def _index(fields: dict, where: str) -> int:
    schema.required(fields, "index", where)
    index = schema.whole_number(fields, "index", where, -(2**53), 2**53)
    assert index is not None  # required above
    return index


@hookimpl
def npo_bench_register_benchmarks(register):
    register("mmbench", MMBenchBenchmark)
