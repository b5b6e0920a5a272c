#!/usr/bin/env bash
# GPU smoke of the embedded trainer, every stage in one call (for a lent GPU machine; npo-bench installed).
#   1. perf/gpu_smoke.py: GRPO steps and the TrainerControl round trip at Qwen3-VL-2B size, bfloat16
#   2. `npo-bench run --preset micro` on cuda: SFT warm-up, GRPO, evaluation, checkpoints, end to end
#   3. the same with AutoNPO (near_future --auto): scouting, rollback, guide sampling from checkpoints on the GPU
#   4. the fast test suite on this machine's torch/transformers (the tests pin model.device=cpu)
# Each stage has its own time limit and log ($OUT/<stage>.log when OUT is set); a failed stage does not stop the rest.
set -u -o pipefail
out=${OUT:-$(mktemp -d)}
runs=$(mktemp -d)
export PYTHONUNBUFFERED=1 NPO_BENCH_CACHE=${NPO_BENCH_CACHE:-$(mktemp -d)}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers; print('torch', torch.__version__, '· transformers', transformers.__version__)"

stage() {  # stage NAME SECONDS COMMAND...
    local name=$1 limit=$2
    shift 2
    local started=$SECONDS
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - started)) s"
    tail -n 12 "$out/$name.log"
}

stage smoke 200 python3 perf/gpu_smoke.py
stage micro_grpo 90 python3 -m npo_bench.cli run --preset micro --set model.device=cuda --runs-dir "$runs" --name grpo
stage micro_autonpo 120 python3 -m npo_bench.cli run --preset micro --source near_future --auto \
    --set model.device=cuda --runs-dir "$runs" --name autonpo
stage tests 120 python3 -m pytest -q -p no:cacheprovider tests/unit tests/integration -m "not slow" --maxfail=20
