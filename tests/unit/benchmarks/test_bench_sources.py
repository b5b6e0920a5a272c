"""The shared loader: local jsonl / parquet / VLMEvalKit TSV with base64 images, errors naming file, row and field,
``skip_bad`` counting, unknown splits, and the hub path needing the optional ``datasets`` package."""

from __future__ import annotations

import builtins
import csv
import json

import pytest
from benchmark_fixtures import mathvista_cases, png_base64, png_bytes, write_split

from npo_bench.benchmark import make_benchmark
from npo_bench.errors import UserError
from npo_bench_benchmarks.common.errors import BadRow


def _rows(n=3):
    return [row for row, _, _ in mathvista_cases()[:n]]


def test_tsv_with_base64_images(tmp_path):
    rows = _rows()
    with (tmp_path / "testmini.tsv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    **row,
                    "image": png_base64(row["pid"]),
                    "choices": json.dumps(row["choices"]),
                    "metadata": json.dumps(row["metadata"]),
                }
            )
    prompts = make_benchmark("mathvista", {"data": str(tmp_path / "testmini.tsv")}).load("testmini", None, 0)
    assert [p.answer for p in prompts] == ["35°"] * 3 and prompts[0].image.size == (64, 48)


def test_parquet_with_image_structs(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{**row, "image": None, "decoded_image": {"bytes": png_bytes("x"), "path": None}} for row in _rows()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "testmini.parquet")
    prompts = make_benchmark("mathvista", {"data": str(tmp_path)}).load("testmini", 2, 0)
    assert len(prompts) == 2 and prompts[1].image.size == (64, 48)


def test_missing_image_file_names_row_and_field(tmp_path):
    rows = _rows()
    rows[1]["image"] = "images/nowhere.png"
    write_split(tmp_path, "testmini", rows)
    with pytest.raises(UserError, match=r"testmini.jsonl row 2: field 'image': image file .*nowhere.png not found"):
        make_benchmark("mathvista", {"data": str(tmp_path)}).load("testmini", None, 0)


def test_missing_field_names_row_and_field_and_skip_bad_counts(tmp_path):
    rows = _rows()
    del rows[0]["answer"]
    rows[2]["question_type"] = "essay"
    write_split(tmp_path, "testmini", rows)
    with pytest.raises(UserError, match=r"row 1: field 'answer': it is missing"):
        make_benchmark("mathvista", {"data": str(tmp_path)}).load("testmini", None, 0)
    bench = make_benchmark("mathvista", {"data": str(tmp_path), "skip_bad": True})
    assert [p.id for p in bench.load("testmini", None, 0)] == ["mathvista/2"]
    assert len(bench.skipped) == 2 and "row 3: field 'question_type': 'essay' is not one of" in bench.skipped[1]


def test_unknown_split_and_missing_files(tmp_path):
    bench = make_benchmark("mathvista", {"data": str(tmp_path)})
    with pytest.raises(UserError, match="has no split 'testmin'.*did you mean 'testmini'"):
        bench.load("testmin", None, 0)
    with pytest.raises(UserError, match="has no testmini.jsonl or testmini.parquet or testmini.tsv"):
        bench.load("testmini", None, 0)
    with pytest.raises(UserError, match="no such file or directory"):
        make_benchmark("mathvista", {"data": str(tmp_path / "x.jsonl")}).load("testmini", None, 0)


def test_hub_ids_need_the_optional_datasets_package(monkeypatch):
    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError("no datasets")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(UserError, match="AI4Math/MathVista .*needs the optional `datasets` package"):
        make_benchmark("mathvista").load("testmini", 1, 0)


def test_bad_json_line_is_a_bad_row_named_by_file_and_line(tmp_path):
    (tmp_path / "testmini.jsonl").write_text('{"pid": 1}\nnot json\n')
    with pytest.raises(BadRow, match="testmini.jsonl row 1: field 'question'"):
        make_benchmark("mathvista", {"data": str(tmp_path)}).load("testmini", None, 0)
    bench = make_benchmark("mathvista", {"data": str(tmp_path), "skip_bad": True})
    with pytest.raises(UserError, match="no usable items"):  # both rows are bad: each is skipped, none is left
        bench.load("testmini", None, 0)
    assert "testmini.jsonl row 2: line 2: not valid JSON" in bench.skipped[1]
