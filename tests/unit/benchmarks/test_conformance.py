"""Conformance of each benchmark's default scoring with its official rule path (docs/benchmarks.md).

``conformance/<benchmark>.json`` holds, per benchmark, rows in the benchmark's real schema (Hugging Face layout, plus
a VLMEvalKit-TSV-shaped row) and cases: a response, where its shape comes from (``published shape:`` a kind of
response found in the official repositories' published model outputs, written anew — the outputs are not copied;
``reading:`` a case read off the official rule), the **official** verdict and **ours**. The official verdicts were
produced by running each official scorer on the case (the repositories' own code, outside this project; MathVerse's
official scorer is an LLM, so its verdicts are labelled by hand from the judge's demonstrations). ``null`` means the
official scorer guesses at random (MMMU-Pro without a parsable answer); ``official_read`` is what it read.

Every case is loaded through the benchmark's loader and scored by its default scorer, and ours must hold. Where ours
differs from the official verdict, the case says why, and the verdict's ``rule`` names the deviation
(``ours:…``): no silent difference.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmark_fixtures import write_split

from npo_bench.benchmark import make_benchmark

DATA = Path(__file__).parent / "conformance"
BENCHMARKS = ("mmmu_pro", "mathvista", "mathvision", "zerobench", "wemath", "mmbench", "mmstar", "mathverse")
ISSUE_CLASSES = {  # the five classes of issue 16, each covered by cases tagged with it
    1: "MathVerse Text Only loads and scores",
    2: "an option's text inside a short response",
    3: "MathVista's quoted 'The answer is \"X\".'",
    4: "ZeroBench exact match, no containment",
    5: "free-form golds with words or units",
}


def suite(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def cases() -> list[tuple[str, dict]]:
    return [(name, case) for name in BENCHMARKS for case in suite(name)["cases"]]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict:
    """Per benchmark: the prompts its loader makes of the suite's rows, by prompt id."""
    out = {}
    for name in BENCHMARKS:
        data = suite(name)
        folder = tmp_path_factory.mktemp(name)
        for stem, rows in data["files"].items():
            write_split(folder, stem, rows, tuple(data["image_fields"][stem]))
        bench = make_benchmark(name, {"data": str(folder), **data["options"]})
        out[name] = (bench, {p.id: p for p in bench.load(data["split"], None, 0)})
    return out


@pytest.mark.parametrize(("name", "case"), cases(), ids=[f"{n}:{c['id']}" for n, c in cases()])
def test_case(loaded, name, case):
    bench, prompts = loaded[name]
    verdict = bench.score(prompts[case["prompt"]], case["response"])
    assert verdict.correct == case["ours"], (case, verdict)
    if case["official"] != case["ours"]:
        assert case.get("why"), f"{case['id']}: ours differs from the official verdict without a reason"
        assert verdict.rule and verdict.rule.startswith("ours:"), (case, verdict)


def test_every_benchmark_has_enough_cases_and_the_classes_are_covered():
    counts = {name: len(suite(name)["cases"]) for name in BENCHMARKS}
    assert min(counts.values()) >= 25 and sum(counts.values()) >= 200, counts
    covered = {c for _, case in cases() for c in case.get("classes", ())}
    assert covered == set(ISSUE_CLASSES), sorted(set(ISSUE_CLASSES) - covered)
    for name in BENCHMARKS:
        data = suite(name)
        assert data["official_rule"] and all(case["source"] for case in data["cases"])
        ids = [case["id"] for case in data["cases"]]
        assert len(ids) == len(set(ids)), name


def test_shapes_of_published_outputs_are_part_of_the_suite():
    published = [case for _, case in cases() if case["source"].startswith("published shape")]
    assert {name for name, case in cases() if case["source"].startswith("published shape")} >= {
        "mmmu_pro",
        "mathvista",
        "mathvision",
    }
    assert len(published) >= 25
