"""pass@k and maj@k from evaluations with several samples per item (`npo-bench analyze samples`)."""

from __future__ import annotations

import json

import pytest

from npo_bench.analysis.samples import curve_label, majority_correct, pass_at_k, pass_curve, sample_stats
from npo_bench.cli import main


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(16, 0, 4) == 0.0 and pass_at_k(16, 16, 1) == 1.0
    assert pass_at_k(16, 4, 1) == pytest.approx(0.25)  # pass@1 is the fraction correct
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 − C(3,2)/C(4,2) = 1 − 3/6
    assert pass_at_k(16, 1, 16) == 1.0  # all 16 samples drawn: the one correct is among them
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 5)


def test_the_majority_vote_breaks_ties_by_the_first_sampled_and_ignores_unextracted():
    assert majority_correct(["3", "4", "4"], [True, False, False]) is False
    assert majority_correct(["3", "4", "3", "4"], [True, False, True, False]) is True  # tie: "3" came first
    assert majority_correct(["4", "3", "3", "4"], [False, True, True, False]) is False  # tie: "4" came first
    assert majority_correct([None, None, "2"], [False, False, True]) is True
    assert majority_correct([None, None], [False, False]) is False


def _items(per_item):
    rows = []
    for i, (family, level, answers, gold) in enumerate(per_item):
        for s, answer in enumerate(answers):
            rows.append(
                {"id": f"x/{i}", "sample": s, "family": family, "level": level, "extracted": answer,
                 "correct": answer == gold}
            )  # fmt: skip
    return rows


def test_sample_stats_per_group():
    items = _items(
        [
            ("count", 1, ["2", "2", "3", "2"], "2"),  # 3/4 correct, majority right
            ("count", 2, ["1", "5", "5", "4"], "1"),  # 1/4, majority wrong (a guess)
            ("read", 1, ["7", "8", "9", "6"], "0"),  # never
        ]
    )
    stats = {s.group: s for s in sample_stats(items, ks=[1, 2, 16])}
    assert set(stats) == {"all", "family/count", "family/read", "level/1", "level/2"}
    every = stats["all"]
    assert every.items == 3 and every.samples == 4 and sorted(every.pass_at) == [1, 2]  # 16 > 4 samples: dropped
    assert every.pass_at[1] == pytest.approx((0.75 + 0.25 + 0) / 3)
    assert every.pass_at[2] == pytest.approx((1.0 + 0.5 + 0) / 3)  # 1 − C(1,2)/C(4,2) = 1; 1 − C(3,2)/C(4,2) = 0.5
    assert every.maj == pytest.approx(1 / 3) and every.never == pytest.approx(1 / 3)
    assert stats["family/count"].maj == 0.5 and stats["family/read"].never == 1.0
    assert stats["level/1"].items == 2
    only_family = [s.group for s in sample_stats(items, ks=[1], by=["family"])]
    assert only_family == ["all", "family/count", "family/read"]  # another benchmark groups by its own fields
    assert [s.group for s in sample_stats(items, ks=[1], by=["category"])] == ["all"]  # absent field: no groups


def test_the_pass_curve_runs_to_the_fewest_samples_and_methods_share_a_label():
    items = _items([("count", 1, ["2", "2", "3", "2"], "2"), ("read", 1, ["7", "0", "9"], "0")])
    curve = pass_curve(items)
    assert sorted(curve) == [1, 2, 3]  # the read item has 3 samples
    assert curve[1] == pytest.approx((0.75 + 1 / 3) / 2) and curve[3] == pytest.approx(1.0)
    assert curve_label("npo_early-seed3-7aa5825f") == "npo_early" and curve_label("base") == "base"
    assert curve_label("my-seedless-run") == "my-seedless-run"


def test_the_cli_prints_a_table_and_names_a_bad_file(tmp_path, capsys):
    good = tmp_path / "grpo-seed0-abc" / "synthetic.json"
    good.parent.mkdir()
    good.write_text(json.dumps({"items": _items([("count", 1, ["2", "2", "3", "2"], "2")])}))
    assert main(["analyze", "samples", str(good), "--k", "1,4", "--plot", str(tmp_path / "p" / "passk.png")]) == 0
    out = capsys.readouterr().out
    assert "pass@4" in out and "maj@4" in out and "family/count" in out
    assert (tmp_path / "p" / "passk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"items": [{"id": "a", "correct": True}, {"id": "b"}]}))
    assert main(["analyze", "samples", str(bad)]) == 2
    assert "bad.json: item 1 lacks an 'id' or a true/false 'correct'" in capsys.readouterr().err
    assert main(["analyze", "samples", str(tmp_path / "none.json")]) == 2
    assert "none.json: no such file" in capsys.readouterr().err
    assert main(["analyze", "samples", str(tmp_path)]) == 2
    assert "a folder; give the <benchmark>.json inside it" in capsys.readouterr().err
