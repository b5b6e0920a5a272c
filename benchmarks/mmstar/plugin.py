"""The ``mmstar`` benchmark plugin: split ``val`` (1,500 items, letters A–D).

Fields (HF ``Lin-Chen/MMStar``): ``index``, ``question`` (options embedded), ``image``, ``answer`` (letter),
``category`` (six core capabilities), ``l2_category`` (18 axes), ``meta_info``. VLMEvalKit's ``MMStar.tsv`` also
loads: options in columns ``A``…``D``, ``l2-category``, base64 ``image``. Scoring: the ``vlmevalkit_choice``
verifier (:mod:`npo_bench_benchmarks.common.vlmevalkit`, VLMEvalKit's rules) with the option texts. Sub-scores as
the official evaluator reports them: accuracy per core capability (``category/…``) and per axis (``l2_category/…``).

MG/ML (multimodal gain / leakage, :mod:`npo_bench_benchmarks.mmstar.gain`), options off by default:

* ``gain: true`` — every item is asked twice, with its image and as a text-only twin (``<id>#text-only``, no image,
  same question). ``accuracy`` and its sub-scores stay the with-image score ``S_v``; added: ``S_v``, ``S_wv`` (the
  twins' accuracy), ``MG = S_v − S_wv``, and ``S_wv/category/…``, ``MG/category/…`` per core capability.
* ``llm_scores`` (needs ``gain``): the LLM base's text-only score ``S_t``, a fraction or the eval JSON of its
  ``text_only`` run (field ``scores.S_wv``); adds ``S_t`` and ``ML = max(0, S_wv − S_t)``.
* ``text_only: true`` — only the text-only twins (for a text-only LLM); ``accuracy`` = ``S_wv`` = its text score.
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
from npo_bench_benchmarks.common.prompting import CHOICE_INSTRUCTION, choice_question
from npo_bench_benchmarks.common.scores import accuracy_by
from npo_bench_benchmarks.common.sources import Row
from npo_bench_benchmarks.mmstar.gain import gain_scores, is_text_only, llm_score, text_only_twin
from npo_bench_benchmarks.mmstar.rules import N_OPTIONS, rule_for, split_options

if TYPE_CHECKING:
    from npo_bench.verify import Verdict


class MMStarBenchmark(FileBenchmark):
    """MMStar val: vision-indispensable multiple choice (A–D) over six core capabilities × 18 axes."""

    name = "mmstar"
    hf_id = "Lin-Chen/MMStar"
    sources = {"val": SplitSource("val", "val")}
    default_split = "val"
    record_fields = ("category", "l2_category", "text_only")
    judge_protocol = "choice_fallback"  # VLMEvalKit: can_infer, then GPT when no letter is found (§2.7)

    def __init__(
        self,
        data=None,
        skip_bad: bool = False,
        gain: bool = False,
        text_only: bool = False,
        llm_scores: float | str | None = None,
    ):
        super().__init__(data, skip_bad)
        for option, value in (("gain", gain), ("text_only", text_only)):
            if not isinstance(value, bool):
                raise UserError(f"benchmark 'mmstar' option {option}: {value!r} is not true or false")
        if gain and text_only:
            raise UserError("benchmark 'mmstar': options gain and text_only exclude each other")
        if llm_scores is not None and not gain:
            raise UserError("benchmark 'mmstar' option llm_scores needs gain: true (ML = max(0, S_wv − S_t))")
        self.gain, self.text_only = gain, text_only
        self.s_t = llm_score(llm_scores) if llm_scores is not None else None  # read now: fail before generating

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        f, where = row.fields, row.where
        index = schema.text(f, "index", where)
        answer = schema.text(f, "answer", where).upper()
        if answer not in "ABCD"[:N_OPTIONS] or len(answer) != 1:
            raise bad_row(where, "answer", f"{answer!r} is not an option letter A–D")
        stem, options = split_options(schema.text(f, "question", where))
        options = schema.letter_columns(f, "ABCD") or options  # VLMEvalKit's TSV: one column per option
        question = choice_question(stem, options) if options else f"{stem}\n{CHOICE_INSTRUCTION}"
        verifier, verify_options = rule_for(options)
        meta = {
            "verifier": verifier,
            "verify_options": verify_options,
            "category": schema.text(f, "category", where),
            "l2_category": schema.optional(f, "l2_category", schema.optional(f, "l2-category")),
        }
        if self.text_only:
            return [text_only_twin(Prompt(f"mmstar/{index}", question, answer, None, meta))]
        prompt = Prompt(f"mmstar/{index}", question, answer, self.image(row, "image"), meta)
        return [prompt, text_only_twin(prompt)] if self.gain else [prompt]

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Overall accuracy, per core capability and per l2 axis; with ``gain``, of the with-image items, plus
        ``S_v``, ``S_wv``, ``MG`` (and ``S_t``, ``ML``); with ``text_only``, ``S_wv`` too."""
        keys = ("category", "l2_category")
        if self.text_only:
            scores = accuracy_by(prompts, verdicts, keys)
            return {**scores, "S_wv": scores["accuracy"]}
        if not self.gain:
            return accuracy_by(prompts, verdicts, keys)
        seen = [(p, v) for p, v in zip(prompts, verdicts, strict=True) if not is_text_only(p)]
        with_image = accuracy_by([p for p, _ in seen], [v for _, v in seen], keys)
        return {**with_image, **gain_scores(prompts, verdicts, with_image, self.s_t)}


@hookimpl
def npo_bench_register_benchmarks(register):
    register("mmstar", MMStarBenchmark)
