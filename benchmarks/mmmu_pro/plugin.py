"""The ``mmmu_pro`` benchmark plugin (benchmarks.md §2.1).

Splits: ``test`` (both settings: ``standard (10 options)`` and ``vision``, 1,730 items each), ``standard``,
``vision`` and ``standard4`` (the 4-option config). Local files: ``standard10.jsonl`` / ``vision.jsonl`` /
``standard4.jsonl`` (or .parquet/.tsv). Fields: ``id``, ``question`` (standard only), ``options`` (a list or its
string form), ``answer`` (letter A–J), ``image_1``…``image_7`` (standard) or ``image`` (vision: the question is in
the screenshot), ``subject``, ``explanation``, ``img_type``, ``topic_difficulty``. VLMEvalKit's ``MMMU_Pro_10c.tsv``
/ ``MMMU_Pro_V.tsv`` also load: ``index``, options in columns ``A``…``J``, base64 ``image`` (or a list of them).

Official scoring is rule-based: ``mmmu-pro/evaluate.py``'s ``parse_multi_choice_response`` with the option texts in
both settings (:mod:`.rules`, the ``mmmu_pro_choice`` verifier; its random guess when nothing parses is not
replicated: no answer is wrong). Scores: accuracy per setting, **overall = mean(standard-10, vision)**, and per
discipline and subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from npo_bench import hookimpl
from npo_bench.types import Prompt
from npo_bench_benchmarks.common import schema
from npo_bench_benchmarks.common.base import FileBenchmark, SplitSource
from npo_bench_benchmarks.common.errors import bad_row
from npo_bench_benchmarks.common.images import combine, decode_images
from npo_bench_benchmarks.common.prompting import CHOICE_INSTRUCTION, LETTERS, choice_question
from npo_bench_benchmarks.common.scores import accuracy_by, mean
from npo_bench_benchmarks.common.sources import Row

if TYPE_CHECKING:
    from npo_bench.verify import Verdict

SETTINGS = {  # setting → where it lives
    "standard": SplitSource("standard10", "test", "standard (10 options)"),
    "vision": SplitSource("vision", "test", "vision"),
    "standard4": SplitSource("standard4", "test", "standard (4 options)"),
}
OVERALL = ("standard", "vision")
DISCIPLINES = {
    "Art and Design": ("Art", "Art_Theory", "Design", "Music"),
    "Business": ("Accounting", "Economics", "Finance", "Manage", "Marketing"),
    "Science": ("Biology", "Chemistry", "Geography", "Math", "Physics"),
    "Health and Medicine": (
        "Basic_Medical_Science",
        "Clinical_Medicine",
        "Diagnostics_and_Laboratory_Medicine",
        "Pharmacy",
        "Public_Health",
    ),
    "Humanities and Social Science": ("History", "Literature", "Sociology", "Psychology"),
    "Tech and Engineering": (
        "Agriculture",
        "Architecture_and_Engineering",
        "Computer_Science",
        "Electronics",
        "Energy_and_Power",
        "Materials",
        "Mechanical_Engineering",
    ),
}
_DISCIPLINE_OF = {subject: d for d, subjects in DISCIPLINES.items() for subject in subjects}


def discipline_of(subject: str) -> str | None:
    return _DISCIPLINE_OF.get(subject.strip().replace(" ", "_"))


class MMMUProBenchmark(FileBenchmark):
    """MMMU-Pro test: 10-option standard and vision (question in the screenshot); overall = mean of the two."""

    name = "mmmu_pro"
    hf_id = "MMMU/MMMU_Pro"
    sources = {"test": SETTINGS["standard"], **SETTINGS}
    default_split = "test"
    record_fields = ("setting", "subject")

    def load(self, split: str, size: int | None, seed: int) -> list[Prompt]:
        """``test`` loads both settings of the overall score (``size`` items from each)."""
        if split != "test":
            return super().load(split, size, seed)
        prompts, skipped = [], []
        for setting in OVERALL:
            prompts += super().load(setting, size, seed)
            skipped += self.skipped
        self.skipped = skipped
        return prompts

    def prompts_from_row(self, row: Row, split: str) -> list[Prompt]:
        f, where = row.fields, row.where
        if schema.is_missing(f.get("options")) and not schema.is_missing(f.get("A")):
            options = schema.letter_columns(f, LETTERS)  # VLMEvalKit's TSV: one column per option
        else:
            options = schema.string_list(schema.required(f, "options", where), where, "options")
            if len(options) == 1 and options[0].startswith("["):  # one published item nests its list: [['A', …]]
                options = schema.string_list(options[0], where, "options")
        if not 2 <= len(options) <= len(LETTERS):
            raise bad_row(where, "options", f"{len(options)} options (expected 2–{len(LETTERS)})")
        answer = schema.text(f, "answer", where).upper()
        if len(answer) != 1 or answer not in LETTERS[: len(options)]:
            raise bad_row(where, "answer", f"{answer!r} is not one of the option letters {LETTERS[: len(options)]}")
        subject_field = schema.first_present(f, ("subject", "category"))
        subject = schema.text(f, subject_field, where) if not schema.is_missing(f.get(subject_field)) else ""
        fields = [k for k in (f"image_{i}" for i in range(1, 8)) if not schema.is_missing(f.get(k))]
        if split == "vision" or not fields:  # VLMEvalKit's TSV: every image in ``image``
            image = self.image(row, schema.first_present(f, ("image",) if split == "vision" else ("image_1", "image")))
        else:
            image = combine([img for k in fields for img in decode_images(f[k], row.base_dir, where, k)])
        if split == "vision":
            question = "The question and its options are shown in the image.\n" + CHOICE_INSTRUCTION
        else:
            question = choice_question(schema.text(f, "question", where), options)
        meta = {
            "verifier": "mmmu_pro_choice",
            "verify_options": {"options": options},
            "setting": split,
            "subject": subject,
            "discipline": discipline_of(subject) if subject else None,
        }
        item = schema.text(f, schema.first_present(f, ("id", "index")), where)
        return [Prompt(f"mmmu_pro/{split}/{item}", question, answer, image, meta)]

    def aggregate(self, prompts: Sequence[Prompt], verdicts: Sequence[Verdict]) -> dict[str, float]:
        """Accuracy per setting, ``overall`` = mean(standard, vision) when both ran, per discipline and subject."""
        scores = accuracy_by(prompts, verdicts, ("setting", "discipline", "subject"))
        if all(f"setting/{s}" in scores for s in OVERALL):
            scores["overall"] = mean(scores[f"setting/{s}"] for s in OVERALL)
        return scores


@hookimpl
def npo_bench_register_benchmarks(register):
    register("mmmu_pro", MMMUProBenchmark)
