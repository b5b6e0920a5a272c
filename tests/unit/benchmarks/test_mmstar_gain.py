"""MMStar's multimodal gain and leakage (benchmarks/mmstar/gain.py): text-only twins, S_v / S_wv / MG per capability,
S_t from a number or a text-only run's eval JSON, ML, the errors, and ``npo-bench eval --option`` reaching it.

Hand-computed on the fixture (benchmark_fixtures.mmstar_cases / mmstar_text_only_responses):

=========================  ===========  ============  =====
capability                 S_v (image)  S_wv (text)   MG
=========================  ===========  ============  =====
coarse perception          3/3          1/3           2/3
fine-grained perception    1/3          2/3           -1/3
math                       0/2          1/2           -1/2
logical reasoning          2/2          1/2           1/2
all ten                    6/10         5/10          1/10
=========================  ===========  ============  =====
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from benchmark_fixtures import mmstar_cases, mmstar_gain_responses, mmstar_text_only_responses, write_split

import npo_bench.evaluate
import npo_bench.model_eval
from npo_bench.benchmark import make_benchmark
from npo_bench.cli import main
from npo_bench.errors import UserError
from npo_bench.evaluate import EvalResult
from npo_bench.model_eval import benchmark_settings

CATEGORIES = {  # capability: (S_v, S_wv)
    "coarse perception": (1.0, 1 / 3),
    "fine-grained perception": (1 / 3, 2 / 3),
    "math": (0.0, 1 / 2),
    "logical reasoning": (1.0, 1 / 2),
}


@pytest.fixture
def data(tmp_path):
    write_split(tmp_path / "mmstar", "val", [row for row, _, _ in mmstar_cases()])
    return tmp_path / "mmstar"


def run(data, **options):
    bench = make_benchmark("mmstar", {"data": str(data), **options})
    prompts = bench.load("val", None, 0)
    by_id = mmstar_gain_responses()
    verdicts = [bench.score(p, by_id[p.id]) for p in prompts]
    return bench, prompts, verdicts, bench.aggregate(prompts, verdicts)


def test_each_item_gets_a_text_only_twin(data):
    _, prompts, verdicts, _ = run(data, gain=True)
    assert len(prompts) == 20
    for with_image, twin in zip(prompts[::2], prompts[1::2], strict=True):
        assert twin.id == with_image.id + "#text-only"
        assert with_image.image is not None and twin.image is None
        assert twin.question == with_image.question and twin.answer == with_image.answer
        assert twin.meta == {**with_image.meta, "text_only": True} and "text_only" not in with_image.meta
    with_image = [expected for _, _, expected in mmstar_cases()]
    text_only = [expected for _, expected in mmstar_text_only_responses()]
    assert [v.correct for v in verdicts[::2]] == with_image and [v.correct for v in verdicts[1::2]] == text_only


def test_gain_by_hand(data):
    _, _, _, scores = run(data, gain=True)
    assert scores["accuracy"] == pytest.approx(6 / 10) and scores["S_v"] == scores["accuracy"]
    assert scores["S_wv"] == pytest.approx(5 / 10)
    assert scores["MG"] == pytest.approx(1 / 10)
    for category, (s_v, s_wv) in CATEGORIES.items():
        assert scores[f"category/{category}"] == pytest.approx(s_v)  # with-image only, as without gain
        assert scores[f"S_wv/category/{category}"] == pytest.approx(s_wv)
        assert scores[f"MG/category/{category}"] == pytest.approx(s_v - s_wv)
    assert scores["MG/category/coarse perception"] == pytest.approx(2 / 3)
    assert scores["MG/category/math"] == pytest.approx(-1 / 2)
    assert len([k for k in scores if k.startswith("MG/")]) == 4
    assert "S_t" not in scores and "ML" not in scores


def test_gain_off_is_unchanged_and_gain_keeps_the_with_image_scores(data):
    _, plain_prompts, _, plain = run(data)
    _, off_prompts, _, off = run(data, gain=False)
    _, gain_prompts, _, gained = run(data, gain=True)
    assert len(plain_prompts) == 10 and all(p.image is not None for p in plain_prompts)
    for a, b, c in zip(plain_prompts, off_prompts, gain_prompts[::2], strict=True):
        assert a.id == b.id == c.id and a.question == b.question == c.question and a.answer == b.answer == c.answer
        assert a.meta == b.meta == c.meta and a.image.tobytes() == b.image.tobytes() == c.image.tobytes()
    assert plain == off
    assert plain["accuracy"] == pytest.approx(6 / 10) and not any(k.split("/")[0] in ("S_wv", "MG") for k in plain)
    assert {k: v for k, v in gained.items() if k in plain} == plain  # accuracy and every sub-score: with-image


def test_ml_from_a_text_only_llm_run_json(data, tmp_path):
    llm, prompts, verdicts, llm_scores = run(data, text_only=True)
    assert len(prompts) == 10 and all(p.image is None and p.id.endswith("#text-only") for p in prompts)
    assert llm_scores["accuracy"] == llm_scores["S_wv"] == pytest.approx(5 / 10)
    # the LLM got items 0, 3 and 9 right only: S_t = 3/10
    llm_scores = llm.aggregate(prompts, [SimpleNamespace(correct=i in (0, 3, 9)) for i in range(10)])
    path = tmp_path / "eval" / "mmstar.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"model": "llm", **EvalResult("mmstar", llm_scores, []).to_json()}))
    _, _, _, scores = run(data, gain=True, llm_scores=str(path))
    assert scores["S_t"] == pytest.approx(3 / 10)
    assert scores["ML"] == pytest.approx(5 / 10 - 3 / 10)


@pytest.mark.parametrize(("s_t", "ml"), [(0.45, 0.05), (0.7, 0.0), (0, 0.5)])
def test_ml_from_a_number_is_never_negative(data, s_t, ml):
    _, _, _, scores = run(data, gain=True, llm_scores=s_t)
    assert scores["S_t"] == s_t and scores["ML"] == pytest.approx(ml)


def test_bad_llm_scores_are_one_user_error_naming_the_file_and_field(data, tmp_path):
    missing = tmp_path / "nowhere" / "mmstar.json"
    with pytest.raises(UserError, match=f"llm_scores: {missing}: no such file") as info:
        make_benchmark("mmstar", {"data": str(data), "gain": True, "llm_scores": str(missing)})
    assert "scores.S_wv" in str(info.value)
    with_image_run = tmp_path / "with_image.json"
    with_image_run.write_text(json.dumps({"benchmark": "mmstar", "scores": {"accuracy": 0.6}}))
    with pytest.raises(UserError, match=f"{with_image_run}: no field 'scores.S_wv'.*text_only=true"):
        make_benchmark("mmstar", {"gain": True, "llm_scores": str(with_image_run)})
    other = tmp_path / "mathvista.json"
    other.write_text(json.dumps({"benchmark": "mathvista", "scores": {"S_wv": 0.5}}))
    with pytest.raises(UserError, match=f"{other}: field 'benchmark' is 'mathvista', not 'mmstar'"):
        make_benchmark("mmstar", {"gain": True, "llm_scores": str(other)})
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(UserError, match=f"{broken}: not a readable JSON file"):
        make_benchmark("mmstar", {"gain": True, "llm_scores": str(broken)})
    with pytest.raises(UserError, match="57.3 is not a fraction in"):
        make_benchmark("mmstar", {"gain": True, "llm_scores": 57.3})


def test_contradictory_options_are_refused():
    with pytest.raises(UserError, match="llm_scores needs gain: true"):
        make_benchmark("mmstar", {"llm_scores": 0.3})
    with pytest.raises(UserError, match="gain and text_only exclude each other"):
        make_benchmark("mmstar", {"gain": True, "text_only": True})
    with pytest.raises(UserError, match="option gain: 'yes' is not true or false"):
        make_benchmark("mmstar", {"gain": "yes"})


# ---- npo-bench eval --option ---------------------------------------------------------------------------------------
def test_option_values_are_yaml_and_keys_are_checked():
    assert benchmark_settings(["mmstar.gain=true", "mmstar.llm_scores=0.25", "mathverse.versions=[Vision Only]"]) == {
        "mmstar": {"gain": True, "llm_scores": 0.25},
        "mathverse": {"versions": ["Vision Only"]},
    }
    assert benchmark_settings(["mmstar.llm_scores=eval/llm/mmstar.json"]) == {
        "mmstar": {"llm_scores": "eval/llm/mmstar.json"}
    }
    with pytest.raises(UserError, match="expected NAME.KEY=VALUE"):
        benchmark_settings(["mmstar=true"])
    with pytest.raises(UserError, match="unknown benchmark 'mmstra' \\(did you mean 'mmstar'"):
        benchmark_settings(["mmstra.gain=true"])


def test_eval_option_reaches_the_benchmark(data, tmp_path, monkeypatch, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    by_id, images = mmstar_gain_responses(), {}

    def scripted_sample(policy, prompts, n, *args, **kwargs):
        images.update({p.id: p.image for p in prompts})
        return [[SimpleNamespace(text=by_id[p.id])] * n for p in prompts]

    monkeypatch.setattr(npo_bench.model_eval, "load_policy_for", lambda *args: object())
    monkeypatch.setattr(npo_bench.evaluate, "sample", scripted_sample)
    out = tmp_path / "eval"
    args = ["eval", "--model", str(model), "--benchmarks", "mmstar", "--data", f"mmstar={data}", "--out", str(out)]
    args += ["--option", "mmstar.gain=true", "--option", "mmstar.llm_scores=0.45"]
    assert main(args) == 0, capsys.readouterr().err

    written = json.loads((out / "mmstar.json").read_text())
    scores = written["scores"]
    assert scores["accuracy"] == pytest.approx(0.6) and scores["S_wv"] == pytest.approx(0.5)
    assert scores["MG"] == pytest.approx(0.1) and scores["ML"] == pytest.approx(0.05)
    assert len(images) == 20 and all((image is None) == i.endswith("#text-only") for i, image in images.items())
    twins = [item for item in written["items"] if item["id"].endswith("#text-only")]
    assert twins and all(item["text_only"] is True for item in twins)
    assert all("text_only" not in item for item in written["items"] if item not in twins)


def test_eval_option_with_an_unknown_key_lists_the_benchmarks_options(data, tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    args = ["eval", "--model", str(model), "--benchmarks", "mmstar", "--option", "mmstar.gian=true"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "benchmark 'mmstar' has no option 'gian'" in err and "did you mean 'gain'?" in err
    assert "known: data, gain, llm_scores, skip_bad, text_only" in err


def test_eval_option_for_a_benchmark_not_evaluated_is_an_error(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    assert main(["eval", "--model", str(model), "--benchmarks", "synthetic", "--option", "mmstar.gain=true"]) == 2
    assert "'mmstar' is not among the benchmarks evaluated" in capsys.readouterr().err


def test_lmeval_export_takes_the_same_option(data, tmp_path, capsys):
    out = tmp_path / "lm_tasks"
    args = ["lmeval", "export", "--preset", "micro", "--benchmarks", "mmstar", "--data", f"mmstar={data}"]
    assert main([*args, "--out", str(out), "--option", "mmstar.gain=true"]) == 0, capsys.readouterr().err
    docs = [json.loads(line) for line in (out / "npo_mmstar" / "docs.jsonl").read_text().splitlines()]
    assert len(docs) == 20
    twins = {d["id"]: d for d in docs if d["id"].endswith("#text-only")}
    assert len(twins) == 10 and all(d["image"] is None for d in twins.values())
    for doc in docs:
        if doc["id"] in twins:
            continue
        assert doc["image"] is not None and twins[doc["id"] + "#text-only"]["question"] == doc["question"]
    assert main([*args, "--out", str(out), "--option", "mathvista.skip_bad=true"]) == 2
    assert "not among the benchmarks exported" in capsys.readouterr().err
