"""The lm-eval model ``npo-bench``: ``lm_eval.simple_evaluate`` on the exported MMStar fixture gets, item by item, the
same responses and verdicts as ``npo-bench eval`` on the same checkpoint — greedy and sampled.

The checkpoint is a tiny random-init Qwen3-VL built offline in seconds (``micro_base`` needs a ~1-minute warm-up,
and any fixed checkpoint makes the same point). Needs the optional ``lmeval`` extra (``tox -e lmeval``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

lm_eval = pytest.importorskip("lm_eval")

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "benchmarks"))
import benchmark_fixtures as fx  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

import npo_bench.lmeval.model  # noqa: E402, F401  (registers the `npo-bench` lm-eval model)
from npo_bench.config import TinyModelConfig  # noqa: E402
from npo_bench.lmeval.export import export_tasks  # noqa: E402
from npo_bench.model_eval import evaluate_model  # noqa: E402
from npo_bench.policy.tiny import build_tiny_policy  # noqa: E402
from npo_bench.presets import resolve  # noqa: E402

SMALL = dict(
    hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, num_kv_heads=1, vision_depth=1, vision_hidden=16
)
DECODING = {  # mode → (npo-bench eval overrides, lm-eval gen_kwargs)
    "greedy": (["eval.temperature=0"], None),
    "sampled": (["eval.temperature=0.7", "eval.samples=1"], {"do_sample": True, "temperature": 0.7}),
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(tiny checkpoint, MMStar fixture data folder, work folder)."""
    import os

    os.environ["HF_DATASETS_OFFLINE"] = "1"
    root = tmp_path_factory.mktemp("lmeval-model")
    data = fx.write_split(root / "data" / "mmstar", "val", [row for row, _, _ in fx.mmstar_cases()])
    corpus = [row["question"] for row, _, _ in fx.mmstar_cases()] * 3 + ["user assistant <answer> A B C D"] * 5
    model = build_tiny_policy(TinyModelConfig(arch="qwen3_vl", **SMALL), corpus, root / "model", 128 * 128, 128 * 128)
    return model, data, root


@pytest.mark.parametrize("mode", list(DECODING))
def test_lm_eval_gets_the_per_item_verdicts_of_npo_bench_eval(setup, mode):
    model, data, root = setup
    overrides, gen_kwargs = DECODING[mode]
    config = resolve("micro", overrides=overrides)
    ours = evaluate_model(config, str(model), ["mmstar"], batch_size=4, out=str(root / mode), data={"mmstar": data})
    records = ours["mmstar"].records
    assert len(records) == 10 and {r["sample"] for r in records} == {0}

    export_tasks(config, ["mmstar"], root / f"tasks-{mode}", {"mmstar": str(data)})
    results = lm_eval.simple_evaluate(
        model="npo-bench",
        model_args={"pretrained": str(model), "preset": "micro"},
        batch_size=4,
        tasks=["npo_mmstar"],
        task_manager=TaskManager(include_path=str(root / f"tasks-{mode}")),
        gen_kwargs=gen_kwargs,
        log_samples=True,
        bootstrap_iters=0,
    )
    samples = sorted(results["samples"]["npo_mmstar"], key=lambda s: s["doc_id"])
    assert [s["doc"]["id"] for s in samples] == [r["id"] for r in records]
    assert [s["filtered_resps"][0] for s in samples] == [r["response"] for r in records]
    assert [bool(s["correct"]) for s in samples] == [r["correct"] for r in records]
    assert [s["accuracy"]["extracted"] for s in samples] == [r["extracted"] for r in records]
    assert [s["accuracy"]["rule"] for s in samples] == [r["rule"] for r in records]
    if mode == "sampled":  # a random-init model repeats one token greedily; sampled, every item gets its own text
        assert len({r["response"] for r in records}) == len(records)
    scores = results["results"]["npo_mmstar"]
    assert scores["accuracy,none"] == pytest.approx(ours["mmstar"].scores["accuracy"])
