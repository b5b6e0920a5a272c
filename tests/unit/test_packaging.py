"""The wheel lists its packages by hand (pyproject.toml): every package folder must be in that list, or a
non-editable install (tox, CI, a user's `pip install .`) silently lacks it."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads TOML; the check runs there")

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_listed_in_pyproject():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = set()
    for name, folder in setuptools["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *relative.parts]))
    assert "npo_bench.cli" in found and "npo_bench_benchmarks.common" in found
    assert found - listed == set(), "package folders missing from pyproject.toml [tool.setuptools] packages"
