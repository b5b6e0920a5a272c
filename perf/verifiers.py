"""Verifier throughput and latency benchmark (not a test): ``python perf/verifiers.py [--quick]``.

Prints, per verifier, verdicts/s over a varied workload (``verify_many``; math in parallel on the worker pool) and
p50/p99 latency of single ``verify`` calls on fresh items (no cache has seen them), then the same for a mixed workload
(equal parts of every verifier, shuffled). Worker start-up is excluded (``warm_up`` first). Targets on a 2-core machine
(issue 3): choice and numeric >= 20 000 verdicts/s, math >= 300/s, p99 never above the timeout.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

from npo_bench.host import PluginHost, set_host
from npo_bench.verify import verify, verify_many, warm_up
from npo_bench.verify.safety import DEFAULT_TIMEOUT

Item = dict

TARGETS = {"choice": 20_000, "numeric": 20_000, "math": 300}


def _use_builtin_verifiers_only() -> None:
    """Benchmark the built-ins without depending on every installed plugin importing cleanly."""
    import npo_bench_plugins.verifiers as builtin

    host = PluginHost(load_entry_points=False)
    host.register(builtin, name="verifiers")
    set_host(host)


# ---- workloads -------------------------------------------------------------------------------------------------
def choice_items(rng: random.Random, n: int) -> list[Item]:
    formats = [
        "{L}",
        "({L})",
        "{L}.",
        "{L}) {text}",
        "Answer: {L}",
        "The answer is {L}.",
        "\\boxed{{{L}}}",
        "**{L}**",
        "I choose option {L}",
        "<think>compare the options</think><answer>{L}</answer>",
        "{l}",
    ]
    items = []
    for _ in range(n):
        gold = rng.choice("ABCDEFGHIJ")
        said = gold if rng.random() < 0.6 else rng.choice("ABCDEFGHIJ")
        body = rng.choice(formats).format(L=said, l=said.lower(), text="some option text")
        items.append(
            {"response": "Let me think step by step about the figure.\n" + body, "gold": gold, "verifier": "choice"}
        )
    return items


def numeric_items(rng: random.Random, n: int) -> list[Item]:
    items = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.4:
            gold = str(rng.randint(0, 5000))
            said = gold if rng.random() < 0.6 else str(rng.randint(0, 5000))
            body = rng.choice(
                [
                    "<think>count: {x}</think><answer>{x}</answer>",
                    "The total is {x} apples.",
                    "{x}",
                    "Answer: {x}",
                    "\\boxed{{{x}}}",
                ]
            ).format(x=said)
        elif kind < 0.7:
            value = round(rng.uniform(-1000, 1000), 2)
            gold = f"{value:.2f}"
            said = f"{value + (0 if rng.random() < 0.6 else rng.uniform(-3, 3)):.3f}"
            body = rng.choice(["x = {x} cm", "The answer is {x}.", "{x}"]).format(x=said)
        else:
            value = rng.randint(1000, 10_000_000)
            gold = str(value)
            body = rng.choice(["${x:,}", "{x:,} people", "\\boxed{{{x:,}}}"]).format(x=value)
        items.append({"response": body, "gold": gold, "verifier": "numeric"})
    return items


def math_items(rng: random.Random, n: int) -> list[Item]:
    def fraction() -> tuple[str, str]:
        p, q = rng.randint(1, 99), rng.choice([2, 4, 5, 8, 10, 20, 25])
        right = rng.random() < 0.6
        return f"\\frac{{{p}}}{{{q}}}", str(p / q if right else (p + 1) / q)

    def root() -> tuple[str, str]:
        a, b = rng.randint(2, 9), rng.choice([2, 3, 5, 6, 7])
        return f"{a}\\sqrt{{{b}}}", f"\\sqrt{{{a * a * b}}}" if rng.random() < 0.6 else f"{a + 1}\\sqrt{{{b}}}"

    def interval() -> tuple[str, str]:
        a, b = sorted(rng.sample(range(-50, 50), 2))
        return f"({a},{b}]", f"({a}, {b}]" if rng.random() < 0.6 else f"({a},{b})"

    def equation() -> tuple[str, str]:
        a, b = rng.randint(2, 9), rng.randint(1, 30)
        return f"y={a}x+{b}", f"{a}x+{b}" if rng.random() < 0.6 else f"{a}x+{b + 1}"

    def number_set() -> tuple[str, str]:
        values = rng.sample(range(-20, 40), 3)
        shown = rng.sample(values, 3) if rng.random() < 0.6 else [*values[:2], values[2] + 1]
        return "\\{" + ",".join(map(str, values)) + "\\}", "\\{" + ",".join(map(str, shown)) + "\\}"

    def polynomial() -> tuple[str, str]:
        a = rng.randint(1, 12)
        return f"(x+{a})^2", f"x^2+{2 * a}x+{a * a}" if rng.random() < 0.6 else f"x^2+{2 * a}x+{a * a + 1}"

    def integer() -> tuple[str, str]:
        g = rng.randint(0, 10_000)
        return str(g), str(g if rng.random() < 0.6 else g + 1)

    makers: list[Callable[[], tuple[str, str]]] = [fraction, root, interval, equation, number_set, polynomial, integer]
    items = []
    for _ in range(n):
        gold, said = rng.choice(makers)()
        body = rng.choice(
            ["The answer is $\\boxed{{{x}}}$.", "<think>work</think><answer>{x}</answer>", "Final Answer: ${x}$"]
        ).format(x=said)
        items.append({"response": body, "gold": gold, "verifier": "math"})
    return items


def simple_items(rng: random.Random, n: int) -> dict[str, list[Item]]:
    words = ["red", "blue", "green", "circle", "square", "triangle", "left", "right"]
    exact, yes_no, fmt = [], [], []
    for _ in range(n):
        gold = rng.choice(words)
        said = gold if rng.random() < 0.6 else rng.choice(words)
        exact.append(
            {"response": f"<think>look</think><answer>{said.title()}</answer>", "gold": gold, "verifier": "exact"}
        )
        polarity = rng.choice(["yes", "no"])
        yes_no.append(
            {
                "response": rng.choice(["Yes, it is.", "No.", "The answer is no", "yes"]),
                "gold": polarity,
                "verifier": "yes_no",
            }
        )
        fmt.append(
            {
                "response": rng.choice(["<think>a</think><answer>3</answer>", "3", "<answer>3</answer>"]),
                "gold": None,
                "verifier": "format",
            }
        )
    return {"exact": exact, "yes_no": yes_no, "format": fmt}


# ---- measurement -----------------------------------------------------------------------------------------------
def throughput(items: list[Item], workers: int) -> float:
    start = time.perf_counter()
    verify_many(items, workers=workers)
    return len(items) / (time.perf_counter() - start)


def latencies(items: list[Item]) -> tuple[float, float, float, dict[str, int]]:
    times, reasons = [], {}
    for item in items:
        start = time.perf_counter()
        verdict = verify(item["response"], item["gold"], verifier=item["verifier"])
        times.append(time.perf_counter() - start)
        reasons[verdict.reason] = reasons.get(verdict.reason, 0) + 1
    times.sort()
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    return p50, p99, times[-1], reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="math worker processes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    _use_builtin_verifiers_only()
    rng = random.Random(args.seed)
    cheap_n = 5_000 if args.quick else 20_000
    math_n = 300 if args.quick else 1_200

    def build(rng: random.Random) -> dict[str, list[Item]]:
        return {
            "choice": choice_items(rng, cheap_n),
            "numeric": numeric_items(rng, cheap_n),
            **simple_items(rng, cheap_n),
            "math": math_items(rng, math_n),
        }

    workloads = build(rng)
    fresh = build(random.Random(args.seed + 1))  # latency is measured on items no cache has seen
    print(f"warming up {args.workers} math worker processes…", flush=True)
    start = time.perf_counter()
    warm_up(args.workers)
    print(f"  ready in {time.perf_counter() - start:.1f} s (start-up is not counted below)\n")
    for items in workloads.values():  # warm caches and code paths
        verify_many(items[:50], workers=args.workers)

    print(f"{'verifier':<9} {'verdicts/s':>11} {'target':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  reasons")
    failed = False
    timeout_ms = DEFAULT_TIMEOUT * 1000
    rows = {}
    for name, items in workloads.items():
        rate = throughput(items, args.workers)
        sample = fresh[name] if name == "math" else fresh[name][:5_000]
        p50, p99, worst, reasons = latencies(sample)
        target = TARGETS.get(name)
        ok = (target is None or rate >= target) and p99 * 1000 <= timeout_ms
        failed |= not ok
        rows[name] = rate
        shown = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
        print(
            f"{name:<9} {rate:>11,.0f} {target or '':>7} {p50 * 1000:>8.3f} {p99 * 1000:>8.3f} "
            f"{worst * 1000:>8.1f}  {shown}{'' if ok else '   <-- below target'}"
        )

    mixed = [item for items in build(random.Random(args.seed + 2)).values() for item in items[:math_n]]
    rng.shuffle(mixed)
    rate = throughput(mixed, args.workers)
    mixed_fresh = [item for items in build(random.Random(args.seed + 3)).values() for item in items[:math_n]]
    rng.shuffle(mixed_fresh)
    p50, p99, worst, _ = latencies(mixed_fresh)
    print(
        f"{'mixed':<9} {rate:>11,.0f} {'':>7} {p50 * 1000:>8.3f} {p99 * 1000:>8.3f} {worst * 1000:>8.1f}  "
        f"({len(mixed)} items, equal parts of each verifier)"
    )
    print(f"\ntimeout {DEFAULT_TIMEOUT:.1f} s; machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
