"""Fixture builders for the multimodal benchmarks: rows in each benchmark's real schema, images drawn with PIL at
test time (no downloads), model responses and the verdict each benchmark's official scorer gives them.

Each ``<name>_cases()`` returns ``(row, response, expected_correct)`` triples; ``write_split`` writes the rows as a
local ``<stem>.jsonl`` with PNG files beside it. Also imported by tests/integration/test_benchmarks_e2e.py and
perf/eval_throughput.py (through ``sys.path``).
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

Case = tuple[dict[str, Any], str, bool]


def make_image(label: str, size: tuple[int, int] = (64, 48)):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((4, 4), label[:10], fill="black")
    return image


def png_bytes(label: str) -> bytes:
    buffer = io.BytesIO()
    make_image(label).save(buffer, format="PNG")
    return buffer.getvalue()


def png_base64(label: str) -> str:
    return base64.b64encode(png_bytes(label)).decode()


def write_split(folder: Path, stem: str, rows: list[dict[str, Any]], image_fields: tuple[str, ...] = ("image",)):
    """``folder/<stem>.jsonl`` plus ``folder/images/<stem>-<row>-<field>.png`` for image fields set to ``True``."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with (folder / f"{stem}.jsonl").open("w", encoding="utf-8") as handle:
        for index, row in enumerate(rows):
            row = dict(row)
            for field in image_fields:
                if row.get(field) is True:
                    name = f"images/{stem}-{index}-{field}.png"
                    make_image(f"{stem} {index}").save(folder / name)
                    row[field] = name
            handle.write(json.dumps(row) + "\n")
    return folder


def responses_by_id(cases: list[Case], id_field: str, prefix: str) -> dict[str, str]:
    return {f"{prefix}/{row[id_field]}": response for row, response, _ in cases}


# ---- MathVista (benchmarks.md §2.2) ------------------------------------------------------------------------------
def _mathvista(
    pid,
    question,
    answer,
    qtype,
    atype,
    response,
    expected,
    *,
    choices=None,
    precision=None,
    unit=None,
    task="figure question answering",
    skills=("arithmetic reasoning",),
    grade="high school",
):
    row = {
        "pid": pid,
        "question": question,
        "image": True,
        "choices": choices,
        "unit": unit,
        "precision": precision,
        "answer": answer,
        "question_type": qtype,
        "answer_type": atype,
        "metadata": {
            "task": task,
            "skills": list(skills),
            "grade": grade,
            "context": "synthetic scene",
            "source": "fixture",
            "language": "english",
            "category": "math-targeted-vqa",
        },
        "query": question,
    }
    return row, response, expected


def mathvista_cases() -> list[Case]:
    ab = ["145°", "35°", "55°", "125°"]
    return [
        _mathvista(
            "1",
            "Find the angle.",
            "35°",
            "multi_choice",
            "text",
            "<think>…</think><answer>B</answer>",
            True,
            choices=ab,
            task="geometry problem solving",
            skills=("geometry reasoning",),
        ),
        _mathvista(
            "2",
            "Find the angle.",
            "35°",
            "multi_choice",
            "text",
            "<answer>35°</answer>",
            True,  # choice text
            choices=ab,
            task="geometry problem solving",
            skills=("geometry reasoning",),
        ),
        _mathvista(
            "3",
            "Find the angle.",
            "35°",
            "multi_choice",
            "text",
            "<answer>C</answer>",
            False,
            choices=ab,
            task="geometry problem solving",
            skills=("geometry reasoning",),
        ),
        _mathvista(
            "4", "How many balls?", "3", "free_form", "integer", "so \\boxed{3}", True, task="visual question answering"
        ),
        _mathvista(
            "5",
            "How many balls?",
            "3",
            "free_form",
            "integer",
            "<answer>3.7</answer>",
            False,
            task="visual question answering",
        ),  # the official int() truncation would accept; see rules.py
        _mathvista(
            "6",
            "What is the ratio?",
            "14.3",
            "free_form",
            "float",
            "<answer>14.28</answer>",
            True,
            precision=1,
            skills=("arithmetic reasoning", "statistical reasoning"),
        ),
        _mathvista(
            "7",
            "What is the ratio?",
            "1.45",
            "free_form",
            "float",
            "<answer>1.4</answer>",
            False,
            precision=2,
            skills=("arithmetic reasoning", "statistical reasoning"),
        ),
        _mathvista(
            "8",
            "Which years?",
            "[2007, 2008]",
            "free_form",
            "list",
            "<answer>[2007, 2008]</answer>",
            True,
            task="figure question answering",
            skills=("statistical reasoning",),
        ),
        _mathvista(
            "9",
            "Which years?",
            "[2007, 2008]",
            "free_form",
            "list",
            "<answer>2008</answer>",
            False,
            skills=("statistical reasoning",),
        ),
        _mathvista(
            "10",
            "Which country?",
            "Russia",
            "free_form",
            "text",
            "<answer>russia</answer>",
            True,
            task="textbook question answering",
            skills=("scientific reasoning",),
        ),
        _mathvista(
            "11",
            "How long is it?",
            "12",
            "free_form",
            "integer",
            "The answer is 12 cm.",
            True,
            unit="cm",
            task="math word problem",
        ),
        _mathvista(
            "12", "How long is it?", "12", "free_form", "integer", "", False, unit="cm", task="math word problem"
        ),
    ]


# ---- MMStar (benchmarks.md §2.7) ---------------------------------------------------------------------------------
_STAR_Q = "What animal is shown?\nOptions: A: a cat, B: a dog, C: a bird, D: a fish"


def _mmstar(index, answer, response, expected, category, l2, question=_STAR_Q):
    row = {
        "index": index,
        "question": question,
        "image": True,
        "answer": answer,
        "category": category,
        "l2_category": l2,
        "meta_info": {"source": "fixture", "split": "val"},
    }
    return row, response, expected


def mmstar_cases() -> list[Case]:
    plain = "Which shape has the most corners? Pick A, B, C or D."  # options not in an Options: block
    return [
        _mmstar(0, "A", "<think>fur</think><answer>A</answer>", True, "coarse perception", "image scene and topic"),
        _mmstar(1, "B", "<answer>a dog</answer>", True, "coarse perception", "image scene and topic"),  # text
        _mmstar(2, "C", "so \\boxed{C}", True, "coarse perception", "image style & quality"),
        _mmstar(3, "C", "<answer>D</answer>", False, "fine-grained perception", "attribute recognition"),
        _mmstar(4, "B", "The answer is (B).", True, "fine-grained perception", "attribute recognition"),
        _mmstar(5, "A", "<answer>E</answer>", False, "fine-grained perception", "attribute recognition"),
        _mmstar(6, "D", "", False, "math", "numeric commonsense & calculation"),
        _mmstar(7, "A", "<answer>A, B</answer>", False, "math", "numeric commonsense & calculation"),  # two letters
        _mmstar(8, "B", "Looking again, I think B is right", True, "logical reasoning", "code & sequence reasoning"),
        _mmstar(9, "D", "<answer>D</answer>", True, "logical reasoning", "diagram reasoning", question=plain),
    ]


def mmstar_text_only_responses() -> list[tuple[str, bool]]:
    """(response, expected_correct) of each ``mmstar_cases()`` item's text-only twin (MG/ML, image withheld)."""
    return [
        ("<answer>A</answer>", True),  # coarse perception: 1 of 3 right without the image
        ("<answer>C</answer>", False),
        ("", False),
        ("<answer>C</answer>", True),  # fine-grained perception: 2 of 3
        ("<answer>A</answer>", False),
        ("<answer>A</answer>", True),
        ("<answer>D</answer>", True),  # math: 1 of 2
        ("<answer>B</answer>", False),
        ("<answer>A</answer>", False),  # logical reasoning: 1 of 2
        ("<answer>D</answer>", True),
    ]


def mmstar_gain_responses() -> dict[str, str]:
    """Response by prompt id for MMStar with ``gain``: the fixture's own for the with-image items, the
    :func:`mmstar_text_only_responses` for their ``#text-only`` twins."""
    out = {f"mmstar/{row['index']}": response for row, response, _ in mmstar_cases()}
    for (row, _, _), (response, _) in zip(mmstar_cases(), mmstar_text_only_responses(), strict=True):
        out[f"mmstar/{row['index']}#text-only"] = response
    return out


# ---- MMBench (benchmarks.md §2.6; circular evaluation) ----------------------------------------------------------
def _mmbench(index, options, answer, behaviour, category, l2, hint=None):
    row = {
        "index": index,
        "question": f"Question {index}: which is it?",
        "hint": hint,
        "answer": answer,
        "category": category,
        "l2-category": l2,
        "split": "dev",
        "source": "fixture",
        "image": True,
    }
    for letter, option in zip("ABCD", [*options, None, None, None]):
        row[letter] = option
    return row, behaviour


def mmbench_rows() -> list[tuple[dict[str, Any], str]]:
    """(row, behaviour): ``right`` (gold letter every pass), ``text`` (the gold option's text), ``always_A``,
    ``miss_last`` (wrong on the last shift only), ``none`` (no answer)."""
    four = ["red", "green", "blue", "yellow"]
    return [
        _mmbench(1, four, "A", "right", "image_scene", "coarse_perception", hint="Look at the colour."),
        _mmbench(2, four, "C", "text", "image_scene", "coarse_perception"),
        _mmbench(3, four, "A", "always_A", "image_style", "coarse_perception"),  # right on shift 0 only
        _mmbench(4, four, "B", "miss_last", "image_style", "coarse_perception"),
        _mmbench(5, four, "D", "none", "ocr", "finegrained_perception (instance-level)"),
        _mmbench(6, ["yes", "no"], "B", "right", "ocr", "finegrained_perception (instance-level)"),
        _mmbench(7, ["yes", "no"], "A", "always_A", "spatial_relationship", "relation_reasoning"),
        _mmbench(8, ["1", "2", "3"], "C", "right", "spatial_relationship", "relation_reasoning"),
        _mmbench(9, ["1", "2", "3"], "B", "miss_last", "future_prediction", "logic_reasoning"),
        _mmbench(10, ["1", "2", "3"], "A", "text", "future_prediction", "logic_reasoning"),
    ]


def mmbench_response(behaviour: str, gold: str, options: list[str], shift: int) -> str:
    wrong = next(letter for letter in "ABCD" if letter != gold)
    answers = {
        "right": gold,
        "text": options["ABCD".index(gold)],
        "always_A": "A",
        "miss_last": wrong if shift == len(options) - 1 else gold,
        "none": "",
    }
    return f"<think>…</think><answer>{answers[behaviour]}</answer>" if answers[behaviour] else "I am not sure."


def mmbench_pass_correct(behaviour: str, gold: str, options: list[str], shift: int) -> bool:
    """Whether :func:`mmbench_response` is right on this pass (the option text counts as its letter)."""
    return {
        "right": True,
        "text": True,
        "always_A": gold == "A",
        "miss_last": shift != len(options) - 1,
        "none": False,
    }[behaviour]


def mmbench_passes(prompts: list[Any]) -> list[tuple[str, bool]]:
    """(fixture response, whether it is right) for each loaded MMBench pass, by its row's behaviour and shift."""
    behaviour = {row["index"]: b for row, b in mmbench_rows()}
    out = []
    for p in prompts:
        how, options = behaviour[p.meta["question_index"]], p.meta["verify_options"]["options"]
        args = (how, p.answer, options, p.meta["shift"])
        out.append((mmbench_response(*args), mmbench_pass_correct(*args)))
    return out


# ---- MathVerse (benchmarks.md §2.8) ------------------------------------------------------------------------------
def _mathverse(problem, version, qtype, answer, response, expected, subject="Plane Geometry", subfield="Angle"):
    sample = problem * 10 + (5 if version == "Vision Only" else 1)
    row = {
        "sample_index": str(sample),
        "problem_index": str(problem),
        "problem_version": version,
        "question": "According to the question shown in the image, answer it."
        if version == "Vision Only"
        else f"Problem {problem}: as shown in the figure, find the value.",
        "image": True,
        "answer": answer,
        "question_type": qtype,
        "metadata": {"split": "testmini", "source": "fixture", "subject": subject, "subfield": subfield},
        "query_wo": "",
        "query_cot": "",
        "question_for_eval": "find the value",
    }
    return row, response, expected


def mathverse_cases() -> list[Case]:
    vo, td = "Vision Only", "Text Dominant"
    return [
        _mathverse(1, vo, "multi-choice", "B", "<answer>B</answer>", True),
        _mathverse(1, td, "multi-choice", "B", "<answer>(C)</answer>", False),
        _mathverse(2, vo, "free-form", "y=2x+1", "<answer>y = 2x + 1</answer>", True, "Functions", "Analytic"),
        _mathverse(2, td, "free-form", "y=2x+1", "<answer>2x+7</answer>", False, "Functions", "Analytic"),
        _mathverse(3, vo, "free-form", "1.5", "\\boxed{\\frac{3}{2}}", True),
        _mathverse(3, td, "free-form", "1.5", "<answer>1.5</answer>", True),
        _mathverse(4, vo, "free-form", "(-2,1]", "<answer>(-2,1)</answer>", False, "Functions", "Analytic"),
        _mathverse(4, td, "free-form", "(-2,1]", "<answer>(-2, 1]</answer>", True, "Functions", "Analytic"),
        _mathverse(5, vo, "free-form", "3\\sqrt{2}", "<answer>\\sqrt{18}</answer>", True, "Solid Geometry", "Length"),
        _mathverse(5, td, "free-form", "3\\sqrt{2}", "<answer>4.24</answer>", False, "Solid Geometry", "Length"),
        _mathverse(6, vo, "multi-choice", "D", "", False, "Solid Geometry", "Length"),
        _mathverse(6, td, "multi-choice", "D", "The answer is D.", True, "Solid Geometry", "Length"),
    ]


# ---- MMMU-Pro (benchmarks.md §2.1) -------------------------------------------------------------------------------
_TEN = [f"opt {i}" for i in range(10)]


def _mmmu(setting, n, answer, response, expected, subject):
    row = {"id": f"{setting}_{n}", "options": str(_TEN), "answer": answer, "subject": subject}
    if setting == "vision":
        row["image"] = True
    else:
        row.update({"question": f"Question {n} <image 1>", "image_1": True, "img_type": "['Diagrams']"})
    return row, response, expected


def mmmu_pro_cases() -> tuple[list[Case], list[Case]]:
    """(standard 10-option cases, vision cases)."""
    standard = [
        _mmmu("standard", 1, "J", "<answer>J</answer>", True, "History"),  # the 10th letter
        _mmmu("standard", 2, "C", "Reasoning…\nAnswer: C", True, "Math"),
        _mmmu("standard", 3, "D", "<answer>opt 3</answer>", True, "Math"),  # the option's text
        _mmmu("standard", 4, "A", "<answer>B</answer>", False, "Physics"),
        _mmmu("standard", 5, "E", "", False, "Clinical_Medicine"),  # MMMU's random guess is not replicated
        _mmmu("standard", 6, "F", "The answer is (F).", True, "Art_Theory"),
    ]
    vision = [
        _mmmu("vision", 1, "A", "<answer>A</answer>", True, "History"),
        _mmmu("vision", 2, "C", "Answer: B", False, "Math"),
        _mmmu("vision", 3, "H", "\\boxed{H}", True, "Math"),
        _mmmu("vision", 4, "A", "<answer>K</answer>", False, "Physics"),  # not a letter A–J
        _mmmu("vision", 5, "E", "<answer>E</answer>", True, "Clinical_Medicine"),
        _mmmu("vision", 6, "F", "<answer>A, F</answer>", False, "Art_Theory"),  # two letters
    ]
    return standard, vision


# ---- MathVision (benchmarks.md §2.3) -----------------------------------------------------------------------------
def _mathv(n, answer, response, expected, options=(), level=1):
    subject = "metric geometry - angle" if options else "algebra"
    row = {
        "id": str(n),
        "question": f"<image1>Problem {n}.",
        "options": list(options),
        "image": True,
        "answer": answer,
        "solution": "",
        "level": level,
        "subject": subject,
    }
    return row, response, expected


def mathvision_cases() -> list[Case]:
    five = ["1", "2", "3", "4", "5"]
    return [
        _mathv(1, "C", "<answer>C</answer>", True, five, 1),
        _mathv(2, "C", "<answer>3</answer>", True, five, 1),  # the gold option's text counts
        _mathv(3, "A", "<answer>B</answer>", False, five, 1),
        _mathv(4, "12", "\\boxed{12}", True, level=1),
        _mathv(5, "0.75", "<answer>\\frac{3}{4}</answer>", True, level=2),
        _mathv(6, "2\\sqrt{3}", "<answer>3.46</answer>", True, level=2),  # round(·, 2) equality
        _mathv(7, "2\\sqrt{3}", "<answer>3.5</answer>", False, level=2),
        _mathv(8, "(1,2)", "<answer>(1, 2)</answer>", True, level=2),
        _mathv(9, "(1,2)", "<answer>(2, 1)</answer>", False, level=3),
        _mathv(10, "7", "", False, level=3),
        _mathv(11, "E", "The answer is E", True, five, 3),
        _mathv(12, "\\frac{1}{3}", "<answer>0.33</answer>", True, level=3),
    ]


# ---- WeMath (benchmarks.md §2.5) ---------------------------------------------------------------------------------
_WE_OPTIONS = "A. 3; B. 4; C. 5; D. 6; E. No correct answer"


def _wemath(problem_id, key, answer, right, style="tag"):
    wrong = "D" if answer != "D" else "A"
    letter = answer if right else wrong
    response = {
        "tag": f"<answer>{letter}</answer>",
        "paren": f"The answer is ({letter}).",
        "text": f"<answer>{dict(zip('ABCDE', ['3', '4', '5', '6', 'x']))[letter]}</answer>",
    }[style]
    row = {
        "ID": problem_id,
        "split": "testmini",
        "knowledge concept": "Area of rectangles",
        "question": f"Problem {problem_id} ({key}): find the length.",
        "option": _WE_OPTIONS,
        "answer": answer,
        "image_path": True,
        "key": key,
        "question number": 1,
        "knowledge concept description": "",
    }
    return row, response, right


def wemath_cases() -> list[Case]:
    return [
        _wemath("1", "1step", "A", True),
        _wemath("2", "1step", "B", False),
        *[_wemath("10", k, "C", True, "paren") for k in ("2steps_1", "2steps_2", "2steps_multi")],  # CM
        _wemath("11", "2steps_1", "A", True, "text"),  # strict RM, loose CM
        _wemath("11", "2steps_2", "B", False),
        _wemath("11", "2steps_multi", "C", True),
        _wemath("12", "2steps_1", "D", True),  # IG
        _wemath("12", "2steps_2", "A", True),
        _wemath("12", "2steps_multi", "B", False),
        _wemath("13", "2steps_1", "C", False),  # RM strict and loose
        _wemath("13", "2steps_2", "D", False),
        _wemath("13", "2steps_multi", "A", True),
        _wemath("20", "3steps_1", "B", False),  # IK
        _wemath("20", "3steps_2", "C", True),
        _wemath("20", "3steps_3", "D", True),
        _wemath("20", "3steps_multi", "E", False),
    ]


# ---- ZeroBench (benchmarks.md §2.4) ------------------------------------------------------------------------------
def _zero(qid, answer, response, expected, images=True):
    row = {
        "question_id": qid,
        "question_text": f"Question {qid}?",
        "question_images": images,
        "question_answer": answer,
        "image_attribution": "",
    }
    return row, response, expected


def zerobench_cases() -> list[Case]:
    return [
        _zero("1_1", "5", "so \\boxed{5}", True, [png_base64("left"), png_base64("right")]),  # two images
        _zero("1_2", "3", "I count {13}", False),  # the README rule is an exact match: no containment
        _zero("2_1", "red", "<answer>red</answer>", True),  # no braces: the <answer> tag is read (a deviation)
        _zero("2_2", "Red", "the answer is {RED}", True),
        _zero("3_1", "1/2", "\\boxed{\\frac{1}{2}}", False),  # read whole (not the README's "2"); not "1/2"
        _zero("3_2", "42", "{41} then {42}", True),
        _zero("4_1", "42", "{42} no wait {41}", False),
        _zero("4_2", "3, 5", "{3, 5}", True),
        _zero("5_1", "cat", "", False),
        _zero("5_2", "7", "{ 7 }", True),  # trimmed (a deviation: the README compares " 7 ")
    ]


# ---- every benchmark at once (end-to-end tests, perf) -----------------------------------------------------------
def write_all(root: Path) -> Path:
    """``root/<benchmark>/`` for each benchmark, in its default split's file layout."""
    write_split(root / "mathvista", "testmini", [row for row, _, _ in mathvista_cases()])
    write_split(root / "mmstar", "val", [row for row, _, _ in mmstar_cases()])
    write_split(root / "mmbench", "dev_en", [row for row, _ in mmbench_rows()])
    write_split(root / "mathverse", "testmini", [row for row, _, _ in mathverse_cases()])
    standard, vision = mmmu_pro_cases()
    write_split(root / "mmmu_pro", "standard10", [row for row, _, _ in standard], ("image_1",))
    write_split(root / "mmmu_pro", "vision", [row for row, _, _ in vision])
    write_split(root / "mathvision", "test", [row for row, _, _ in mathvision_cases()])
    write_split(root / "wemath", "testmini", [row for row, _, _ in wemath_cases()], ("image_path",))
    zero = [row for row, _, _ in zerobench_cases()]
    write_split(root / "zerobench", "zerobench_subquestions", zero, ("question_images",))
    return root
