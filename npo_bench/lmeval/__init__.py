"""lm-evaluation-harness integration: npo-bench benchmarks as lm-eval tasks, our policy as an lm-eval model.

- :mod:`npo_bench.lmeval.export` writes one lm-eval task directory per benchmark (``npo-bench lmeval export``):
  the items exactly as ``npo-bench eval`` loads them, a YAML file and a ``utils.py`` whose ``process_results``
  scores with the benchmark's own ``score`` and whose aggregation is the benchmark's own ``aggregate``.
- :mod:`npo_bench.lmeval.hooks` holds those task functions (the exported ``utils.py`` only re-exports them).
- :mod:`npo_bench.lmeval.model` registers the lm-eval model ``npo-bench`` (generation on our policy, images in).

lm-eval is the optional ``lmeval`` extra; nothing here imports it at package import time.
Run with our model: ``python -m npo_bench.lmeval run --model npo-bench --model_args pretrained=DIR
--include_path OUT --tasks npo_mmstar`` (the stock ``lm_eval`` CLI runs the tasks with its own models).
"""

TASK_PREFIX = "npo_"  # lm-eval task name = TASK_PREFIX + benchmark name (avoids clashing with lm-eval's own `mmmu`…)
