"""Every bad row of an evaluation file is a BadRow naming file, row and field, skippable with --skip-bad; duplicate
ids are an error; images are size-limited (a decompression bomb is a bad row, not a stalled evaluation)."""

from __future__ import annotations

import base64
import csv
import json
import struct
import zlib
from pathlib import Path

import pytest
from benchmark_fixtures import mathvista_cases, png_base64, write_split

from npo_bench.benchmark import make_benchmark
from npo_bench_benchmarks.common.errors import BadRow


def _rows() -> list[dict]:
    return [row for row, _, _ in mathvista_cases()]


def _load(folder: Path, skip_bad: bool = False):
    bench = make_benchmark("mathvista", {"data": str(folder), "skip_bad": skip_bad})
    return bench, bench.load("testmini", None, 0)


def _write_with_line(folder: Path, index: int, line: bytes) -> int:
    """The fixture rows with row ``index`` replaced by raw bytes; returns the number of rows."""
    rows = _rows()
    write_split(folder, "testmini", rows)
    lines = (folder / "testmini.jsonl").read_bytes().splitlines(keepends=True)
    lines[index] = line
    (folder / "testmini.jsonl").write_bytes(b"".join(lines))
    return len(rows)


def _one_bad(folder: Path, where: str, *words: str) -> None:
    with pytest.raises(BadRow) as caught:
        _load(folder)
    message = str(caught.value)
    assert where in message and all(w in message for w in words), message
    assert "\n" not in message and "--skip-bad" in message
    bench, prompts = _load(folder, skip_bad=True)
    assert len(bench.skipped) == 1 and where in bench.skipped[0]
    assert len(prompts) == len(_rows()) - 1  # the rows after it are still read


def test_non_utf8_bytes_name_the_file_row_and_field(tmp_path):
    row = json.dumps(_rows()[1] | {"image": "images/testmini-1-image.png"}).encode()
    row = row.replace(b"Find the angle.", b"Find the \xff angle.") + b"\n"
    _write_with_line(tmp_path, 1, row)
    _one_bad(tmp_path, "testmini.jsonl row 2: field 'question':", "not UTF-8 text (byte 0xff")


def test_infinite_precision_is_a_bad_row(tmp_path):
    rows = _rows()
    rows[3]["precision"] = "inf"
    write_split(tmp_path, "testmini", rows)
    _one_bad(tmp_path, "testmini.jsonl row 4: field 'precision':", "'inf' is not a whole number from 0 to 15")


@pytest.mark.parametrize("metadata", [["a"], "not json", 3, '["x"]'])
def test_metadata_that_is_not_an_object_is_a_bad_row(tmp_path, metadata):
    rows = _rows()
    rows[2]["metadata"] = metadata
    write_split(tmp_path, "testmini", rows)
    _one_bad(tmp_path, "testmini.jsonl row 3: field 'metadata':", "expected")


def test_a_duplicate_item_id_is_an_error_naming_both_rows(tmp_path):
    rows = _rows()
    rows[4]["pid"] = rows[0]["pid"]
    write_split(tmp_path, "testmini", rows)
    with pytest.raises(BadRow, match=r"row 5: duplicate item id 'mathvista/1' \(also .*testmini.jsonl row 1\)"):
        _load(tmp_path)
    bench, prompts = _load(tmp_path, skip_bad=True)
    assert [p.id for p in prompts].count("mathvista/1") == 1 and len(bench.skipped) == 1


def _png(width: int, height: int) -> bytes:
    """A 1-bit greyscale PNG of ``width × height`` zeros: a few kB that decode to width·height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "size, words",
    [((9000, 9000), "9000×9000 = 81,000,000 pixels, over the limit of 67,108,864"), ((20000, 20000), "bomb")],
)
def test_a_decompression_bomb_is_a_bad_row_before_it_is_decoded(tmp_path, size, words):
    bomb = _png(*size)
    assert len(bomb) < 200_000  # small on disk, gigantic decoded
    rows = _rows()
    rows[1]["image"] = base64.b64encode(bomb).decode()
    write_split(tmp_path, "testmini", rows)
    _one_bad(tmp_path, "testmini.jsonl row 2: field 'image':", words)


def test_image_limits_can_be_lowered_and_raised(tmp_path, monkeypatch):
    write_split(tmp_path, "testmini", _rows())
    monkeypatch.setenv("NPO_BENCH_MAX_IMAGE_PIXELS", "1000")  # the fixture images are 64×48 = 3072 pixels
    with pytest.raises(BadRow, match="64×48 = 3,072 pixels, over the limit of 1,000"):
        _load(tmp_path)
    monkeypatch.setenv("NPO_BENCH_MAX_IMAGE_PIXELS", "4000")
    monkeypatch.setenv("NPO_BENCH_MAX_IMAGE_BYTES", "10")
    with pytest.raises(BadRow, match="bytes, over the limit"):
        _load(tmp_path)


def test_a_tsv_row_with_bad_bytes_names_its_field(tmp_path):
    rows = _rows()[:3]
    for row in rows:
        row["image"] = png_base64(row["pid"])
        row["metadata"] = json.dumps(row["metadata"])
        row["choices"] = json.dumps(row["choices"])
    path = tmp_path / "testmini.tsv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    path.write_bytes(path.read_bytes().replace(b"Find the", b"Find \xfe the", 1))
    with pytest.raises(BadRow, match=r"testmini.tsv row 1: field 'question': not UTF-8 text"):
        _load(tmp_path)
    bench, prompts = _load(tmp_path, skip_bad=True)
    assert len(prompts) == 2 and len(bench.skipped) == 1


def test_an_unexpected_value_is_still_a_named_skippable_row(tmp_path):
    rows = _rows()
    rows[0]["choices"] = {"A": 1}  # a mapping where a list belongs
    write_split(tmp_path, "testmini", rows)
    with pytest.raises(BadRow, match="testmini.jsonl row 1"):
        _load(tmp_path)
    assert len(_load(tmp_path, skip_bad=True)[1]) == len(rows) - 1


def test_a_file_that_is_not_parquet_is_one_line(tmp_path):
    from npo_bench.errors import UserError

    (tmp_path / "testmini.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(UserError, match="testmini.parquet: not a readable parquet file"):
        _load(tmp_path)
