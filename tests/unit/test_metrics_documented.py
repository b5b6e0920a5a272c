"""docs/metrics.md documents every metric name the code emits, and nothing it does not.

Emitted names are read from the source with ``ast``: every string constant of the form ``namespace/name`` in
npo_bench/ and plugins/, and every f-string that starts with a metric namespace (``f"time/{name}_s"``,
``f"eval/{key}"``). tests/integration/test_methods.py checks the names real runs of every method write, too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMESPACES = ("reward", "response", "guidance", "policy", "train", "data", "time", "auto", "eval")
LITERAL = re.compile(rf"^({'|'.join(NAMESPACES)})/[A-Za-z0-9_]+(/[A-Za-z0-9_]+)?$")


def _emitted() -> tuple[set[str], set[str]]:
    """(literal metric names, f-string templates with ``<x>`` for each placeholder) in the package and plugins."""
    literals, templates = set(), set()
    for folder in ("npo_bench", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            in_fstring = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstring:
                    if LITERAL.match(node.value):
                        literals.add(node.value)
                elif isinstance(node, ast.JoinedStr):
                    text = "".join(v.value if isinstance(v, ast.Constant) else "<x>" for v in node.values)
                    if re.match(rf"^({'|'.join(NAMESPACES)})/", text) and " " not in text and "." not in text:
                        templates.add(text)
    return literals, templates


def test_every_emitted_name_is_documented(undocumented_metrics):
    literals, templates = _emitted()
    assert {"reward/mean", "policy/entropy", "guidance/q_hat", "auto/S_hat", "train/updates"} <= literals
    assert {"time/<x>_s", "eval/<x>"} <= templates
    assert undocumented_metrics(literals) == []
    assert undocumented_metrics({t.replace("<x>", "anything") for t in templates}) == []


def test_nothing_documented_is_stale(documented_metrics):
    literals, templates = _emitted()
    template_patterns = [re.compile("^" + ".+".join(map(re.escape, t.split("<x>"))) + "$") for t in templates]
    stale = [
        name
        for name in documented_metrics
        if "<" not in name and name not in literals and not any(p.match(name) for p in template_patterns)
    ]
    assert stale == []
    examples = [re.sub(r"<[^>]+>", "anything", name) for name in documented_metrics if "<" in name]
    assert [e for e in examples if not any(p.match(e) for p in template_patterns)] == []  # a template makes each


def test_the_default_evaluation_is_documented_as_configured():
    from npo_bench.config import EvalConfig

    e = EvalConfig()
    text = (ROOT / "docs" / "metrics.md").read_text()
    assert (e.temperature, e.top_p, e.top_k, e.samples) == (0.7, 0.8, 20, 4)
    assert "T = 0.7, top-p 0.8, top-k 20 and averaged over 4 responses per item (avg@4" in text
    assert "greedy by default" not in text
