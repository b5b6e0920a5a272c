"""The ``wemath`` benchmark plugin: ``testmini`` (1,740 questions; 525 composite problems).

Fields (HF ``We-Math/We-Math``): ``ID``, ``split``, ``knowledge concept``, ``question``, ``option`` (one string
``"A. …; B. …"``), ``answer`` (letter), ``image_path`` (image), ``key`` (``1step``, ``2steps_1``, ``2steps_2``,
``2steps_multi``, ``3steps_1..3``, ``3steps_multi``). VLMEvalKit's ``WeMath.tsv`` also loads: options in
columns ``A``…``H``, ``ID`` (or ``id``), base64 ``image``. Each question is scored by the official string rule (the
first letter after the last ``Answer``: :mod:`.rules`, ``wemath_choice``; with ``--judge-url`` an LLM maps answers
without a letter to an option, as VLMEvalKit's judge mode does).
Scores: :mod:`npo_bench_benchmarks.wemath.metrics` (``score_strict``, ``score_loose``, IK/IG/CM/RM), ``accuracy``
over all questions, and ``step/1``, ``step/2``, ``step/3``: accuracy over the questions of one-, two- and
three-step problems. Loading fewer rows (``--limit``) leaves problems incomplete.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from npo_bench import hookimpl
from npo_bench.types import Prompt
from npo_bench_benchmarks.common import schema
from npo_bench_benchmarks.common.base import FileBenchmark, SplitSource
from npo_bench_benchmarks.common.errors import bad_row
from npo_bench_benchmarks.common.prompting import choice_question
from npo_bench_benchmarks.common.scores import accuracy_by, sample_indices
from npo_bench_benchmarks.common.sources import Row
from npo_bench_benchmarks.wemath.metrics import four_dimensional, problems

if TYPE_CHECKING:
    from npo_bench.verify import Verdict

KEYS = ("1step", "2steps_1", "2steps_2", "2steps_multi", "3steps_1", "3steps_2", "3steps_3", "3steps_multi")
_LABEL = re.compile(r"(?:^|;\s*|\s)([A-H])[.:]\s*")


def split_option_string(option: str) -> list[str]:
    """``"A. 3; B. 4; C. 5"`` → ``["3", "4", "5"]`` (labels must run A, B, C… in order; else ``[]``)."""
    labels = list(_LABEL.finditer(option))
    if not labels or [m.group(1) for m in labels] != list("ABCDEFGH"[: len(labels)]):
        return []
    ends = [m.start() for m in labels[1:]] + [len(option)]
    return [option[m.end() : end].strip().rstrip(";").strip() for m, end in zip(labels, ends, strict=True)]


class WeMathBenchmark(FileBenchmark):
    """WeMath testmini: multi-step visual math, four-dimensional IK/IG/CM/RM metric, strict and loose scores."""

    name = "wemath"
    hf_id = "We-Math/We-Math"
    sources = {"testmini": SplitSource("testmini", "testmini")}
    default_split = "testmini"
    record_fields = ("wemath_id", "key")
    judge_protocol = "choice_fallback"  # VLMEvalKit: the letter rule, then GPT when no letter is found

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        f, where = row.fields, row.where
        key = schema.text(f, "key", where)
        if key not in KEYS:
            raise bad_row(where, "key", f"{key!r} is not one of {', '.join(KEYS)}")
        if schema.is_missing(f.get("option")) and not schema.is_missing(f.get("A")):
            options = schema.letter_columns(f, "ABCDEFGH")  # VLMEvalKit's TSV: one column per option
        else:
            options = split_option_string(schema.text(f, "option", where))
        if len(options) < 2:
            raise bad_row(where, "option", "expected labelled options like 'A. …; B. …'")
        answer = schema.text(f, "answer", where).upper()
        if len(answer) != 1 or answer not in "ABCDEFGH"[: len(options)]:
            raise bad_row(where, "answer", f"{answer!r} is not one of the option letters")
        problem_id = schema.text(f, schema.first_present(f, ("ID", "id")), where)
        meta = {
            "verifier": "wemath_choice",
            "verify_options": {"options": options},
            "wemath_id": problem_id,
            "key": key,
            "steps": key[0],
            "concept": schema.optional(f, "knowledge concept"),
        }
        question = choice_question(schema.text(f, "question", where), options)
        image = self.image(row, schema.first_present(f, ("image_path", "image")))
        return [Prompt(f"wemath/{problem_id}/{key}", question, answer, image, meta)]

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Average accuracy, per-step accuracy and the four-dimensional metric over complete problems."""
        scores = {k.replace("steps/", "step/"): v for k, v in accuracy_by(prompts, verdicts, ("steps",)).items()}
        samples = sample_indices(prompts)
        composite = [
            (f"{p.meta['wemath_id']}/{p.meta['steps']}/{s}", p.meta["key"], v.correct)
            for p, s, v in zip(prompts, samples, verdicts, strict=True)
            if p.meta["steps"] != "1"
        ]
        complete, incomplete = problems(composite)
        scores.update(four_dimensional(complete))
        scores["problems"] = float(len(complete))
        scores["problems_incomplete"] = float(incomplete)
        return scores


@hookimpl
def npo_bench_register_benchmarks(register):
    register("wemath", WeMathBenchmark)
