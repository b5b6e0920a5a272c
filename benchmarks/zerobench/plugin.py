"""The ``zerobench`` benchmark plugin: ``zerobench_subquestions`` (334; the default, as RLSD's numbers imply) and
``zerobench`` (100 main questions).

Fields (HF ``jonathan-roberts1/zerobench``): ``question_id``, ``question_text``, ``question_images_decoded`` (1–3
images; or ``question_images`` paths locally), ``question_answer``, ``image_attribution``. VLMEvalKit's
``zerobench_sub.tsv`` / ``zerobench.tsv`` also load: ``index``, ``question``, ``answers`` (sic), ``image`` (one
base64 image or a list of them). The prompt ends with the official instruction to put the final answer in curly
braces (``\\boxed{…}`` satisfies it). Scoring: the README's exact match of the last ``{…}``
(:mod:`.rules`, ``zerobench_exact``). With k samples per item, ``pass@k`` (any sample right) and ``all@k`` (the
paper's k/k reliability) are reported too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from npo_bench import hookimpl
from npo_bench.types import Prompt
from npo_bench_benchmarks.common import schema
from npo_bench_benchmarks.common.base import FileBenchmark, SplitSource
from npo_bench_benchmarks.common.scores import mean
from npo_bench_benchmarks.common.sources import Row

if TYPE_CHECKING:
    from npo_bench.verify import Verdict

INSTRUCTION = (
    "Let's think step by step and give the final answer in curly braces, like this: {final answer}. "
    "For example \\boxed{42}."
)


class ZeroBenchBenchmark(FileBenchmark):
    """ZeroBench sub-questions: hard visual questions, exact match of the last {…}, pass@k and k/k reliability."""

    name = "zerobench"
    hf_id = "jonathan-roberts1/zerobench"
    sources = {
        "zerobench_subquestions": SplitSource("zerobench_subquestions", "zerobench_subquestions"),
        "zerobench": SplitSource("zerobench", "zerobench"),
    }
    default_split = "zerobench_subquestions"

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        f, where = row.fields, row.where
        image = self.image(row, schema.first_present(f, ("question_images_decoded", "question_images", "image")))
        question = f"{schema.text(f, schema.first_present(f, ('question_text', 'question')), where)}\n{INSTRUCTION}"
        answer = schema.text(f, schema.first_present(f, ("question_answer", "answers", "answer")), where)
        meta = {"verifier": "zerobench_exact", "verify_options": {}}
        item = schema.text(f, schema.first_present(f, ("question_id", "index")), where)
        return [Prompt(f"zerobench/{item}", question, answer, image, meta)]

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Accuracy (avg@k), and over items: pass@k (any sample right) and all@k (every sample right)."""
        per_item: dict[str, list[bool]] = defaultdict(list)
        for prompt, verdict in zip(prompts, verdicts, strict=True):
            per_item[prompt.id].append(verdict.correct)
        return {
            "accuracy": mean(v.correct for v in verdicts),
            "pass@k": mean(any(v) for v in per_item.values()),
            "all@k": mean(all(v) for v in per_item.values()),
            "k": float(max(len(v) for v in per_item.values())),
        }


@hookimpl
def npo_bench_register_benchmarks(register):
    register("zerobench", ZeroBenchBenchmark)
