"""The real published layouts load without ``--skip-bad``: for each benchmark its Hugging Face dataset as parquet
(image structs, nulls, nested metadata) and its VLMEvalKit TSV (base64 images, an image cell naming another row's
``index``, Python list/dict literals, empty cells for NaN). Columns follow the dataset cards and the fields each
benchmark's VLMEvalKit class reads (``vlmeval/dataset/image_mcq.py``, ``image_vqa.py``, ``utils/*.py``)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from benchmark_fixtures import png_base64, png_bytes

from npo_bench.benchmark import make_benchmark


def _image(label: str) -> dict:
    return {"bytes": png_bytes(label), "path": None}


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def write_tsv(path: Path, rows: list[dict]) -> Path:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, delimiter="\t")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {key: "" if row.get(key) is None else row[key] for key in fields}
            )  # pandas writes NaN as ""
    return path


def _load(name: str, data: Path, split: str, **options):
    bench = make_benchmark(name, {"data": str(data), **options})
    prompts = bench.load(split, None, 0)
    assert bench.skipped == []
    return bench, prompts


# ---- MathVista: AI4Math/MathVista / MathVista_MINI.tsv ----------------------------------------------------------
def test_mathvista_hub_and_tsv(tmp_path):
    meta = {"category": "math-targeted-vqa", "context": "geometry diagram", "grade": "high school", "img_height": 48,
            "img_width": 64, "language": "english", "skills": ["geometry reasoning", "algebraic reasoning"],
            "source": "Geometry3K", "split": "testmini", "task": "geometry problem solving"}  # fmt: skip
    hub = [
        {"pid": "1", "question": "Find x.", "image": "images/1.jpg", "decoded_image": _image("1"),
         "choices": ["145°", "35°"], "unit": None, "precision": None, "answer": "35°", "question_type": "multi_choice",
         "answer_type": "text", "metadata": meta, "query": "Hint: …"},
        {"pid": "2", "question": "What is the ratio?", "image": "images/2.jpg", "decoded_image": _image("2"),
         "choices": None, "unit": "cm", "precision": 1.0, "answer": "1.2", "question_type": "free_form",
         "answer_type": "float", "metadata": meta, "query": "Hint: …"},
    ]  # fmt: skip
    _, prompts = _load("mathvista", write_parquet(tmp_path / "testmini.parquet", hub), "testmini")
    assert [p.meta["verify_options"].get("precision") for p in prompts] == [None, 1]
    assert (
        prompts[0].meta["skills"] == ["geometry reasoning", "algebraic reasoning"]
        and "(Unit: cm)" in prompts[1].question
    )
    tsv = [
        {"index": 1, "image": png_base64("1"), "question": "Find x.", "answer": "35°", "answer_option": "B",
         "choices": "['145°', '35°']", "question_type": "multi_choice", "answer_type": "text", "precision": None,
         "unit": None, "task": "geometry problem solving", "skills": "['geometry reasoning']", "grade": "high school"},
        {"index": 2, "image": png_base64("2"), "question": "How many?", "answer": "3", "answer_option": None,
         "choices": None, "question_type": "free_form", "answer_type": "integer", "precision": None, "unit": None,
         "task": "figure question answering", "skills": "statistical reasoning", "grade": "daily life"},
    ]  # fmt: skip
    bench, prompts = _load("mathvista", write_tsv(tmp_path / "MathVista_MINI.tsv", tsv), "testmini")
    assert [p.id for p in prompts] == ["mathvista/1", "mathvista/2"] and prompts[1].meta["skills"] == [
        "statistical reasoning"
    ]
    assert (
        bench.score(prompts[0], "<answer>B</answer>").correct and prompts[0].meta["task"] == "geometry problem solving"
    )


# ---- MathVision: MathLLMs/MathVision / MathVision.tsv -----------------------------------------------------------
def test_mathvision_hub_and_tsv(tmp_path):
    hub = [
        {"id": "1", "question": "<image1>Which?", "options": ["A", "B", "C", "D", "E"], "image": "images/1.jpg",
         "decoded_image": _image("1"), "answer": "C", "solution": None, "level": 3,
         "subject": "metric geometry - angle"},
        {"id": "2", "question": "<image1>How long?", "options": [], "image": "images/2.jpg",
         "decoded_image": _image("2"), "answer": "2\\sqrt{3}", "solution": "…", "level": 5, "subject": "algebra"},
    ]  # fmt: skip
    bench, prompts = _load("mathvision", write_parquet(tmp_path / "test.parquet", hub), "test")
    assert bench.score(prompts[1], "\\boxed{3.46}").correct and prompts[0].meta["level"] == 3
    tsv = [
        {"index": 1, "image": png_base64("1"), "question": "Which?", "answer": "C",
         "choices": "['1', '2', '3', '4', '5']", "category": "metric geometry - angle", "level": 3},
        {"index": 2, "image": "1", "question": "How long?", "answer": "7", "choices": "[]", "category": "algebra",
         "level": 1},  # the image cell names row 1 (VLMEvalKit stores a repeated image once)
    ]  # fmt: skip
    bench, prompts = _load("mathvision", write_tsv(tmp_path / "MathVision.tsv", tsv), "test")
    assert prompts[1].image.size == prompts[0].image.size and prompts[0].meta["subject"] == "metric geometry - angle"
    assert bench.score(prompts[0], "The answer is C").correct and bench.score(prompts[1], "\\boxed{7}").correct


# ---- MMMU-Pro: MMMU/MMMU_Pro (standard (10 options), vision) / MMMU_Pro_10c.tsv, MMMU_Pro_V.tsv ----------------
def test_mmmu_pro_hub_and_tsv(tmp_path):
    ten = str([f"option {i}" for i in range(10)])
    standard = [
        {"id": "test_History_1", "question": "Which? <image 1> <image 2>", "options": ten, "explanation": "?",
         "image_1": _image("a"), "image_2": _image("b"), "image_3": None, "image_4": None, "image_5": None,
         "image_6": None, "image_7": None, "img_type": "['Diagrams']", "answer": "B", "topic_difficulty": "Medium",
         "subject": "History"},
        {"id": "test_CS_2", "question": "Which relation?", "options": str([f"o{i}" for i in range(12)]),
         "explanation": "?", "image_1": _image("c"), "image_2": None, "image_3": None, "image_4": None,
         "image_5": None, "image_6": None, "image_7": None, "img_type": "['Trees']", "answer": "L",
         "topic_difficulty": "Hard", "subject": "Computer_Science"},  # one published item has 12 options
        {"id": "test_Finance_3", "question": "Which call?", "options": "[['A', 'B', 'Not enough information']]",
         "explanation": "?", "image_1": _image("d"), "image_2": None, "image_3": None, "image_4": None,
         "image_5": None, "image_6": None, "image_7": None, "img_type": "['Tables']", "answer": "B",
         "topic_difficulty": "Easy", "subject": "Finance"},  # one published item nests its option list
    ]  # fmt: skip
    vision = [{"id": "test_History_1", "image": _image("v"), "options": ten, "answer": "B", "subject": "History"}]
    write_parquet(tmp_path / "standard10.parquet", standard)
    write_parquet(tmp_path / "vision.parquet", vision)
    bench, prompts = _load("mmmu_pro", tmp_path, "test")
    assert [len(p.meta["verify_options"]["options"]) for p in prompts] == [10, 12, 3, 10]
    assert prompts[0].image.size == (128, 48) and "L. o11" in prompts[1].question
    assert bench.score(prompts[1], "Answer: L").correct and bench.score(prompts[2], "Answer: B").correct
    tsv = [{"index": 7, "question": "Which?", **{c: f"option {i}" for i, c in enumerate("ABCDEFGHIJ")}, "answer": "C",
            "image": str([png_base64("x"), png_base64("y")]), "category": "Art"}]  # fmt: skip
    bench, prompts = _load("mmmu_pro", write_tsv(tmp_path / "MMMU_Pro_10c.tsv", tsv), "standard")
    assert prompts[0].id == "mmmu_pro/standard/7" and prompts[0].image.size == (128, 48)
    assert prompts[0].meta["subject"] == "Art" and bench.score(prompts[0], "Answer: C").correct


# ---- ZeroBench: jonathan-roberts1/zerobench / zerobench_sub.tsv -------------------------------------------------
def test_zerobench_hub_and_tsv(tmp_path):
    hub = [{"question_id": "1_1", "question_text": "How many?", "question_images_decoded": [_image("l"), _image("r")],
            "question_answer": "11.90", "question_images": ["images/1_1_0.png", "images/1_1_1.png"],
            "image_attribution": "CC-BY"}]  # fmt: skip
    bench, prompts = _load("zerobench", write_parquet(tmp_path / "zerobench_subquestions.parquet", hub),
                           "zerobench_subquestions")  # fmt: skip
    assert prompts[0].image.size == (128, 48) and bench.score(prompts[0], "{11.90}").correct
    tsv = [{"index": 3, "question": "Which?", "answers": "blue", "image": str([png_base64("a")])}]
    bench, prompts = _load("zerobench", write_tsv(tmp_path / "zerobench_sub.tsv", tsv), "zerobench_subquestions")
    assert prompts[0].id == "zerobench/3" and bench.score(prompts[0], "so {Blue}").correct


# ---- WeMath: We-Math/We-Math / WeMath.tsv -----------------------------------------------------------------------
def test_wemath_hub_and_tsv(tmp_path):
    hub = [{"ID": "3steps_165", "split": "testmini", "knowledge concept": "Area of Circles",
            "question": "Area (  ) m²?",
            "option": "A. 200.96;B. 3215.36;C. 6280;D. 32; E. No correct answer", "answer": "B",
            "image_path": _image("w"), "key": "3steps_3", "question number": 1575,
            "knowledge concept description": "…"}]  # fmt: skip
    bench, prompts = _load("wemath", write_parquet(tmp_path / "testmini.parquet", hub), "testmini")
    assert prompts[0].meta["verify_options"]["options"][4] == "No correct answer"
    assert bench.score(prompts[0], "<Thought process>: … <Answer>: B").correct
    tsv = [{"index": 0, "ID": "2steps_1", "question": "Find x.", "A": "3", "B": "4", "C": "5", "D": None, "E": None,
            "answer": "A", "image": png_base64("t"), "key": "2steps_1", "knowledge concept": "Angles"}]  # fmt: skip
    bench, prompts = _load("wemath", write_tsv(tmp_path / "WeMath.tsv", tsv), "testmini")
    assert (
        prompts[0].meta["verify_options"]["options"] == ["3", "4", "5"] and bench.score(prompts[0], "Answer: A").correct
    )


# ---- MMBench: lmms-lab/MMBench (en, dev) / MMBench_DEV_EN.tsv ---------------------------------------------------
def test_mmbench_hub_and_tsv(tmp_path):
    hub = [{"index": 241, "question": "Which?", "hint": "nan", "A": "cat", "B": "dog", "C": "nan", "D": "nan",
            "answer": "B", "category": "ocr", "image": _image("m"), "source": "MMBench",
            "L2-category": "coarse_perception", "comment": "nan", "split": "dev"}]  # fmt: skip
    bench, prompts = _load("mmbench", write_parquet(tmp_path / "dev_en.parquet", hub), "dev")
    assert len(prompts) == 2 and prompts[0].meta["l2_category"] == "coarse_perception"  # two options: two passes
    assert "Hint" not in prompts[0].question and bench.score(prompts[0], "dog").correct
    tsv = [
        {"index": 5, "question": "Which colour?", "hint": None, "A": "red", "B": "green", "C": "blue", "D": None,
         "answer": "C", "category": "image_scene", "l2-category": "coarse_perception", "image": png_base64("q"),
         "source": "x", "split": "dev", "comment": None},
        {"index": 1000005, "question": "Which colour?", "hint": None, "A": "green", "B": "blue", "C": "red",
         "D": None, "answer": "B", "category": "image_scene", "l2-category": "coarse_perception", "image": "5",
         "source": "x", "split": "dev", "comment": None},  # a circular copy whose image cell names row 5
    ]  # fmt: skip
    bench, prompts = _load("mmbench", write_tsv(tmp_path / "MMBench_DEV_EN.tsv", tsv), "dev")
    assert [p.id for p in prompts] == ["mmbench/5/shift0", "mmbench/5/shift1", "mmbench/5/shift2"]


# ---- MMStar: Lin-Chen/MMStar / MMStar.tsv -----------------------------------------------------------------------
def test_mmstar_hub_and_tsv(tmp_path):
    hub = [{"index": 0, "question": "Which?\nOptions: A: a cat, B: a dog, C: 1, 2, D: none", "image": _image("s"),
            "answer": "B", "category": "coarse perception", "l2_category": "image scene and topic",
            "meta_info": {"source": "MMBench", "split": "val", "image_path": "images/0.jpg"}}]  # fmt: skip
    bench, prompts = _load("mmstar", write_parquet(tmp_path / "val.parquet", hub), "val")
    assert prompts[0].meta["verify_options"]["options"] == ["a cat", "a dog", "1, 2", "none"]
    assert bench.score(prompts[0], "It is a dog.").correct
    tsv = [{"index": 0, "question": "Which?", "A": "a cat", "B": "a dog", "C": "a bird", "D": "a fish", "answer": "D",
            "category": "math", "l2-category": "geometry", "bench": "MathVista", "image": png_base64("t")}]  # fmt: skip
    bench, prompts = _load("mmstar", write_tsv(tmp_path / "MMStar.tsv", tsv), "val")
    assert prompts[0].meta["l2_category"] == "geometry" and bench.score(prompts[0], "a fish").correct


# ---- MathVerse: AI4Math/MathVerse (testmini, testmini_text_only) / MathVerse_MINI.tsv --------------------------
def _verse(sample: int, version: str, image) -> dict:
    question = "Find angle 2 ()\nChoices:\nA:50°\nB:60°\nC:65°\nD:90°"
    return {"sample_index": str(sample), "problem_index": "1", "problem_version": version, "question": question,
            "image": image, "answer": "C", "question_type": "multi-choice",
            "metadata": {"split": "testmini", "source": "GeoQA", "subject": "Plane Geometry", "subfield": "Angle"},
            "query_wo": "…", "query_cot": "…", "question_for_eval": question}  # fmt: skip


VERSIONS = ("Text Dominant", "Text Lite", "Vision Intensive", "Vision Dominant", "Vision Only")


def test_mathverse_hub_layout_with_the_text_only_config(tmp_path):
    write_parquet(tmp_path / "testmini.parquet", [_verse(i, v, _image(v)) for i, v in enumerate(VERSIONS, 1)])
    write_parquet(tmp_path / "testmini_text_only.parquet", [_verse(6, "Text Only", "")])
    bench, prompts = _load("mathverse", tmp_path, "testmini", versions="all")
    assert [p.meta["problem_version"] for p in prompts] == [*VERSIONS, "Text Only"]
    assert prompts[-1].image is None and all(p.image is not None for p in prompts[:-1])
    assert prompts[0].meta["verify_options"]["options"] == ["50°", "60°", "65°", "90°"]
    verdicts = [bench.score(p, "<answer>C</answer>") for p in prompts]
    assert all(v.correct for v in verdicts)
    scores = bench.aggregate(prompts, verdicts)
    assert scores["problem_version/Text Only"] == 1.0 and scores["overall"] == 1.0 and scores["accuracy"] == 1.0
    _, only = _load("mathverse", tmp_path, "testmini", versions="Text Only")
    assert [p.id for p in only] == ["mathverse/6"]
    _, default = _load("mathverse", tmp_path, "testmini")
    assert [p.meta["problem_version"] for p in default] == ["Vision Only"]


def test_mathverse_text_only_rows_in_the_main_file_and_the_tsv(tmp_path):
    rows = [_verse(1, "Vision Only", _image("v")), _verse(2, "Text Only", None)]
    bench, prompts = _load("mathverse", write_parquet(tmp_path / "mixed.parquet", rows), "testmini", versions="all")
    assert [p.image is None for p in prompts] == [False, True]
    tsv = [
        {"index": 11, "image": png_base64("v"), "question": "Find x.", "answer": "3", "problem_version": "Vision Only",
         "metadata": "{'split': 'testmini', 'source': 'GeoQA', 'subject': 'Plane Geometry', 'subfield': 'Length'}",
         "query_cot": "…", "question_for_eval": "Find x."},
        {"index": 12, "image": "11", "question": "Find x.", "answer": "B", "problem_version": "Vision Dominant",
         "metadata": "{'split': 'testmini', 'source': 'GeoQA', 'subject': 'Plane Geometry', 'subfield': 'Angle'}",
         "query_cot": "…", "question_for_eval": "Find x."},
    ]  # fmt: skip
    bench, prompts = _load("mathverse", write_tsv(tmp_path / "MathVerse_MINI.tsv", tsv), "testmini", versions="all")
    assert [p.meta["question_type"] for p in prompts] == ["free-form", "multi-choice"]  # no column: a letter is MC
    assert prompts[0].meta["subfield"] == "Length" and bench.score(prompts[0], "\\boxed{3}").correct


def test_mathverse_versions_name_the_six(tmp_path):
    with pytest.raises(Exception, match="unknown MathVerse version.*Text Only"):
        make_benchmark("mathverse", {"data": str(tmp_path), "versions": ["Text only"]})


def test_mathverse_hub_reads_the_text_only_config_when_asked(monkeypatch):
    import sys
    import types

    asked = []

    def load_dataset(dataset_id, config, split):
        asked.append((dataset_id, config, split))
        if config == "testmini_text_only":
            return [_verse(6, "Text Only", "")]
        return [_verse(5, "Vision Only", _image("v"))]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    prompts = make_benchmark("mathverse", {"versions": "all"}).load("testmini", None, 0)
    hub = "AI4Math/MathVerse"
    assert asked == [(hub, "testmini", "testmini"), (hub, "testmini_text_only", "testmini")]
    assert [p.meta["problem_version"] for p in prompts] == ["Vision Only", "Text Only"] and prompts[1].image is None
    asked.clear()
    make_benchmark("mathverse").load("testmini", None, 0)
    assert asked == [("AI4Math/MathVerse", "testmini", "testmini")]  # Vision Only: the text-only config is not read
