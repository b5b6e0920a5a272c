"""Dependencies point one way: core ← plugins. Read from the source with ``ast`` (every import, also the ones
inside functions and under TYPE_CHECKING), so a new upward arrow fails here before it becomes a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(folder: str, root: Path = ROOT) -> list[tuple[str, str]]:
    """(file relative to ``root``, imported module) for every import in ``root/folder``."""
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(root)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(root)), node.module))
    return found


def _offending(folder: str, forbidden: tuple[str, ...], root: Path = ROOT, exclude: tuple[str, ...] = ()) -> list[str]:
    return [
        f"{file} imports {module}"
        for file, module in _imports(folder, root)
        if module.startswith(forbidden) and not file.startswith(exclude)
    ]


BACKEND_PLUGINS = ("plugins/openrlhf",)  # a training backend shares the trainer's pieces (one reward, one step math)


@pytest.mark.parametrize(
    "folder, forbidden, why",
    [
        ("npo_bench", ("npo_bench_plugins", "npo_bench_benchmarks"), "core never imports the built-in plugins"),
        ("npo_bench/analysis", ("npo_bench.compare",), "compare builds on analysis, not the other way round"),
        ("plugins", ("npo_bench.trainer", "npo_bench_benchmarks"), "sources use the guidance API, not a backend"),
        ("benchmarks", ("npo_bench_plugins", "npo_bench.trainer"), "benchmarks use the core only"),
        (
            "plugins/openrlhf",
            ("npo_bench.trainer.loop", "npo_bench.trainer.backend", "npo_bench_benchmarks"),
            "a backend plugin builds on the trainer's shared pieces, never on the embedded loop",
        ),
    ],
)
def test_dependencies_point_one_way(folder, forbidden, why):
    exclude = BACKEND_PLUGINS if folder == "plugins" else ()
    assert _offending(folder, forbidden, exclude=exclude) == [], why


def test_the_checker_sees_imports_inside_functions(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("def f():\n    from npo_bench_plugins.grpo import NoGuidance\n")
    assert _offending("pkg", ("npo_bench_plugins",), tmp_path) == ["pkg/m.py imports npo_bench_plugins.grpo"]
