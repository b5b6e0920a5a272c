"""lm-eval task export: every benchmark's fixture, run through ``lm_eval.simple_evaluate`` with a scripted model
that answers with the fixture responses, gets the hand-computed per-item verdicts and the official scores.

Needs the optional ``lmeval`` extra (``tox -e lmeval``); skipped without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

lm_eval = pytest.importorskip("lm_eval")

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
import benchmark_fixtures as fx  # noqa: E402
from lm_eval.api.model import LM  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

from npo_bench.benchmark import make_benchmark  # noqa: E402
from npo_bench.cli import main  # noqa: E402
from npo_bench.lmeval.export import export_tasks  # noqa: E402
from npo_bench.model_eval import data_paths  # noqa: E402

CASES = {  # name → (split, fixture cases with hand-computed verdicts, one per prompt in file order)
    "mathvista": ("testmini", fx.mathvista_cases),
    "mmstar": ("val", fx.mmstar_cases),
    "mathverse": ("testmini", lambda: [c for c in fx.mathverse_cases() if c[0]["problem_version"] == "Vision Only"]),
    "mmmu_pro": ("test", lambda: [case for part in fx.mmmu_pro_cases() for case in part]),
    "mathvision": ("test", fx.mathvision_cases),
    "wemath": ("testmini", fx.wemath_cases),
    "zerobench": ("zerobench_subquestions", fx.zerobench_cases),
}
NAMES = [*CASES, "mmbench"]


class ScriptedLM(LM):
    """Answers each doc with the fixture response for its item id; keeps what lm-eval sent."""

    MULTIMODAL = True

    def __init__(self, responses: dict[str, str]):
        super().__init__()
        self.responses = responses
        self.requests: dict[str, tuple] = {}

    def generate_until(self, requests, disable_tqdm=False):
        for request in requests:
            self.requests[request.doc["id"]] = request.args
        return [self.responses[request.doc["id"]] for request in requests]

    def loglikelihood(self, requests, disable_tqdm=False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm=False):
        raise NotImplementedError


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory):
    """(per-benchmark prompts, responses, expected verdicts or None, lm-eval results, scripted model)."""
    import os

    os.environ["HF_DATASETS_OFFLINE"] = "1"
    root = tmp_path_factory.mktemp("lmeval")
    fx.write_all(root / "data")
    from npo_bench.presets import resolve

    export_tasks(resolve("micro"), NAMES, root / "tasks", data_paths(str(root / "data"), []))
    truth = {}
    for name in NAMES:
        bench = make_benchmark(name, {"data": str(root / "data" / name)})
        if name == "mmbench":
            prompts = bench.load("dev", None, 0)
            responses = [response for response, _ in fx.mmbench_passes(prompts)]
            expected = None  # per pass: whatever `score` says; circular accuracy is checked by hand below
        else:
            split, cases = CASES[name]
            prompts = bench.load(split, None, 0)
            responses = [response for _, response, _ in cases()]
            expected = [correct for _, _, correct in cases()]
        truth[name] = (bench, prompts, responses, expected)
    model = ScriptedLM({p.id: r for _, prompts, responses, _ in truth.values() for p, r in zip(prompts, responses)})
    results = lm_eval.simple_evaluate(
        model=model,
        tasks=[f"npo_{name}" for name in NAMES],
        task_manager=TaskManager(include_path=str(root / "tasks")),
        log_samples=True,
        bootstrap_iters=0,
    )
    return truth, results, model, root


def _verdicts(results, name):
    samples = sorted(results["samples"][f"npo_{name}"], key=lambda s: s["doc_id"])
    return [s["doc"]["id"] for s in samples], [bool(s["correct"]) for s in samples]


@pytest.mark.parametrize("name", list(CASES))
def test_per_item_verdicts_are_the_hand_computed_ones(fixture_run, name):
    truth, results, _, _ = fixture_run
    _, prompts, _, expected = truth[name]
    ids, verdicts = _verdicts(results, name)
    assert ids == [p.id for p in prompts]
    assert verdicts == expected
    assert results["results"][f"npo_{name}"]["correct,none"] == pytest.approx(sum(expected) / len(expected))


@pytest.mark.parametrize("name", NAMES)
def test_official_scores_are_the_benchmarks_aggregate(fixture_run, name):
    truth, results, _, _ = fixture_run
    bench, prompts, responses, _ = truth[name]
    verdicts = [bench.score(p, r) for p, r in zip(prompts, responses)]
    assert _verdicts(results, name)[1] == [v.correct for v in verdicts]
    official = bench.aggregate(prompts, verdicts)
    reported = {k.split(",")[0]: v for k, v in results["results"][f"npo_{name}"].items() if k.endswith(",none")}
    top_level = {k for k in official if "/" not in k} - {"k", "problems", "problems_incomplete"}
    assert top_level <= set(reported)
    for key in top_level:
        assert reported[key] == pytest.approx(official[key]), key


def test_official_scores_by_hand(fixture_run):
    """The numbers the benchmark unit tests compute by hand, now through lm-eval's aggregation."""
    _, results, _, _ = fixture_run
    r = {task: {k.split(",")[0]: v for k, v in scores.items()} for task, scores in results["results"].items()}
    assert r["npo_mmstar"]["accuracy"] == pytest.approx(6 / 10)
    assert r["npo_mmbench"]["accuracy"] == pytest.approx(5 / 10)  # circular: questions 1, 2, 6, 8, 10
    assert r["npo_mmbench"]["single_pass_accuracy"] == pytest.approx(9 / 10)
    assert r["npo_mmbench"]["correct"] == pytest.approx(23 / 33)  # per pass: 4+4+1+3+0+2+1+3+2+3 right
    assert r["npo_mmmu_pro"]["overall"] == pytest.approx((4 / 6 + 3 / 6) / 2)
    assert r["npo_wemath"]["score_strict"] == pytest.approx((5 - 0.5 - 2 - 1) / 5)
    assert r["npo_wemath"]["score_loose"] == pytest.approx((5 - 0.5 - 1 - 1) / 5)
    assert r["npo_wemath"]["accuracy"] == pytest.approx(11 / 18)


def test_the_model_gets_the_eval_prompt_text_and_pixels(fixture_run):
    truth, _, model, _ = fixture_run
    for _, prompts, _, _ in truth.values():
        for prompt in prompts:
            text, gen_kwargs, multimodal = model.requests[prompt.id]
            assert text == "<image>" + prompt.question  # lm-eval's placeholder, then the eval prompt text
            (image,) = multimodal["visual"]
            assert image.size == prompt.image.size and image.tobytes() == prompt.image.convert("RGB").tobytes()
            assert gen_kwargs == {"until": [], "do_sample": False, "temperature": 0.0, "max_gen_toks": 24}


def test_export_command_writes_one_task_directory_per_benchmark(tmp_path, capsys):
    fx.write_split(tmp_path / "data" / "mmstar", "val", [row for row, _, _ in fx.mmstar_cases()])
    args = ["lmeval", "export", "--preset", "micro", "--benchmarks", "mmstar", "--data-dir", str(tmp_path / "data")]
    assert main([*args, "--limit", "3", "--out", str(tmp_path / "tasks")]) == 0
    folder = tmp_path / "tasks" / "npo_mmstar"
    assert capsys.readouterr().out.strip().endswith(str(folder))
    assert len((folder / "docs.jsonl").read_text().splitlines()) == 3
    assert sorted(p.name for p in (folder / "images").iterdir()) == ["0.png", "1.png", "2.png"]
    yaml_text = (folder / "npo_mmstar.yaml").read_text()
    assert "task: npo_mmstar" in yaml_text and "split 'val', 3 items" in yaml_text
    assert main(["lmeval", "export", "--benchmarks", "mmstr", "--out", str(tmp_path)]) == 2
    assert "unknown benchmark 'mmstr' (did you mean 'mmstar'" in capsys.readouterr().err


def test_mmstar_multimodal_gain_through_lm_eval(tmp_path):
    """``--option mmstar.gain=true`` exports the text-only twins too; lm-eval reports S_v, S_wv and MG (the
    hand-computed fixture values of tests/unit/benchmarks/test_mmstar_gain.py: 6/10, 5/10, 1/10)."""
    from npo_bench.presets import resolve

    fx.write_split(tmp_path / "data" / "mmstar", "val", [row for row, _, _ in fx.mmstar_cases()])
    data = data_paths(str(tmp_path / "data"), [])
    export_tasks(resolve("micro"), ["mmstar"], tmp_path / "tasks", data, settings={"mmstar": {"gain": True}})
    results = lm_eval.simple_evaluate(
        model=ScriptedLM(fx.mmstar_gain_responses()),
        tasks=["npo_mmstar"],
        task_manager=TaskManager(include_path=str(tmp_path / "tasks")),
        bootstrap_iters=0,
    )
    reported = {k.split(",")[0]: v for k, v in results["results"]["npo_mmstar"].items() if k.endswith(",none")}
    assert reported["accuracy"] == pytest.approx(0.6) and reported["S_v"] == pytest.approx(0.6)
    assert reported["S_wv"] == pytest.approx(0.5) and reported["MG"] == pytest.approx(0.1)
