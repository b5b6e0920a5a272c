"""The ``mathvista`` benchmark plugin: testmini (1,000; labels public) and test (5,141; labels withheld).

Fields (HF ``AI4Math/MathVista``): ``pid``, ``question``, ``image`` (a path)/``decoded_image``, ``choices`` (a list
or null), ``unit``, ``precision`` (a float or null), ``answer``, ``question_type``, ``answer_type``, ``metadata``
{``task``, ``skills``, ``grade``, ``context``, ``source``, ``language``, …}, ``query``. VLMEvalKit's
``MathVista_MINI.tsv`` also loads: ``index``, base64 ``image``, ``choices`` as a Python list literal, ``task`` and
``skills`` as columns (``metadata`` absent or a Python dict literal), ``answer_option``. Scoring: the official rule
path (:mod:`npo_bench_benchmarks.mathvista.rules`, ``mathvista_rule``).
Sub-scores (benchmarks.md §2.2): by task, skill, grade, context, source and language.
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
from npo_bench_benchmarks.common.scores import accuracy_by, mean
from npo_bench_benchmarks.common.sources import Row
from npo_bench_benchmarks.mathvista.rules import ANSWER_TYPES, QUESTION_TYPES, question_text, rule_for

if TYPE_CHECKING:
    from npo_bench.verify import Verdict

GROUPS = ("task", "grade", "context", "source", "language")


class MathVistaBenchmark(FileBenchmark):
    """MathVista testmini: MC (choice text), integer, float (per-item precision), list and text answers."""

    name = "mathvista"
    hf_id = "AI4Math/MathVista"
    sources = {"testmini": SplitSource("testmini", "testmini"), "test": SplitSource("test", "test")}
    default_split = "testmini"
    record_fields = ("question_type", "answer_type", "task")
    judge_protocol = "extract"  # official: GPT answer extraction, then exact compare (benchmarks.md §2.2)

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        f, where = row.fields, row.where
        item = {
            "pid": schema.text(f, schema.first_present(f, ("pid", "index")), where),
            "question": schema.text(f, "question", where),
            "answer": schema.text(f, "answer", where),
            "question_type": _one_of(f, "question_type", QUESTION_TYPES, where),
            "answer_type": _one_of(f, "answer_type", ANSWER_TYPES, where),
            "choices": schema.string_list(schema.optional(f, "choices"), where, "choices"),
            "unit": schema.optional(f, "unit"),
            "precision": _precision(f, where),
        }
        if item["question_type"] == "multi_choice" and item["answer"] not in item["choices"]:
            raise bad_row(where, "answer", f"{item['answer']!r} is not one of the choices {item['choices']}")
        image = self.image(row, schema.first_present(f, ("decoded_image", "image")))
        metadata = schema.mapping(f.get("metadata"), where, "metadata")
        verifier, options = rule_for(item["question_type"], item["answer_type"], item["choices"], item["precision"])
        meta = {
            "verifier": verifier,
            "verify_options": options,
            "question_type": item["question_type"],
            "answer_type": item["answer_type"],
            "skills": _skills(metadata.get("skills", f.get("skills")), where),
            **{key: metadata.get(key, f.get(key)) for key in GROUPS},
        }
        return [Prompt(f"mathvista/{item['pid']}", question_text(item), item["answer"], image, meta)]

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Accuracy overall, per task/grade/context/source/language, and per skill (an item counts for each skill)."""
        scores = accuracy_by(prompts, verdicts, (*GROUPS, "question_type", "answer_type"))
        per_skill: dict[str, list[bool]] = defaultdict(list)
        for prompt, verdict in zip(prompts, verdicts, strict=True):
            for skill in prompt.meta.get("skills", ()):
                per_skill[f"skill/{skill}"].append(verdict.correct)
        scores.update({key: mean(values) for key, values in sorted(per_skill.items())})
        return scores


def _skills(value, where: str) -> list[str]:
    """``skills``: a list, its JSON/Python literal (VLMEvalKit's TSV), or one bare skill name."""
    if isinstance(value, str) and value.strip() and not value.lstrip().startswith("["):
        return [value.strip()]
    return schema.string_list(value, where, "skills")


def _one_of(fields: dict, name: str, allowed: tuple[str, ...], where: str) -> str:
    value = schema.text(fields, name, where)
    if value not in allowed:
        raise bad_row(where, name, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _precision(fields: dict, where: str) -> int | None:
    """Decimal places of a float answer: a whole number 0–15 (``"inf"`` or ``2.5`` is a bad row)."""
    return schema.whole_number(fields, "precision", where, 0, 15)


@hookimpl
def npo_bench_register_benchmarks(register):
    register("mathvista", MathVistaBenchmark)
