"""`npo-bench --help` stays light: no torch, transformers or numpy is imported to print the help (checked in a fresh
interpreter, through sys.modules, with the installed entry points loaded)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "numpy", "matplotlib")
SCRIPT = """
import contextlib, io, sys
from npo_bench.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main({argv!r})
    except SystemExit:
        pass
assert "usage: npo-bench" in out.getvalue(), out.getvalue()[:200]
from npo_bench.host import get_host
assert get_host().pm.get_plugin("near_future") is not None  # the sources' plugin modules were imported
print(",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["compare", "--help"]])
def test_help_imports_no_torch(argv):
    code = SCRIPT.format(argv=argv, heavy=HEAVY)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"`npo-bench {' '.join(argv)}` imported {result.stdout.strip()}"
