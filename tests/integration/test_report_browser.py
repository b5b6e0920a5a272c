"""``report.html`` opened in headless Chromium: the table and every plot render, with nothing fetched.

Chromium comes from Debian's packages (``.ci/run`` installs it where apt is available); without it, or without
matplotlib (the ``plots`` extra), the test is skipped. The page is loaded from disk with an appended probe script
that writes what the browser actually laid out — table cells, each image's decoded size — into the DOM, which
``--dump-dom`` prints.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess

import pytest

from npo_bench.compare.report import write_report
from npo_bench.compare.results import RunResult
from npo_bench.compare.table import build_table

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian package `chromium`)"),
    pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="plots need the `plots` extra"),
]

PROBE = """
<script>
window.addEventListener("load", () => {
  const images = [...document.images].map(i => ({alt: i.alt, complete: i.complete, w: i.naturalWidth,
                                                 h: i.naturalHeight, shown: i.getBoundingClientRect().width}));
  const cells = [...document.querySelectorAll("table td, table th")].map(c => c.textContent.trim());
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({images, cells, best: document.querySelectorAll("td.best").length});
  document.body.appendChild(out);
});
</script>
"""
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=5000",
]


def _results() -> list[RunResult]:
    def curves(base: float) -> dict[str, dict[int, float]]:
        steps = (0, 3, 6)
        return {
            "accuracy": {s: base + 0.02 * s for s in steps},
            "entropy": {s: 0.6 - 0.01 * s for s in steps},
            "reward": {s: base + 0.03 * s for s in steps},
            "injected": {s: 0.1 * (s > 0) for s in steps},
        }

    return [
        RunResult("grpo", seed, f"r/g{seed}", scores={"synthetic": 0.40 + 0.02 * seed}, curves=curves(0.3), wall_s=5.0)
        for seed in (0, 1)
    ] + [
        RunResult("npo", seed, f"r/n{seed}", scores={"synthetic": 0.45 + 0.02 * seed}, curves=curves(0.32), wall_s=6.0)
        for seed in (0, 1)
    ]


def test_report_html_renders_the_table_and_every_plot_in_headless_chromium(tmp_path):
    results = _results()
    table = build_table(results, ["grpo", "npo"], ["synthetic"])
    report = tmp_path / "report"
    write_report(report, table, results, {"methods": ["grpo", "npo"]})
    page = (report / "report.html").read_text()
    assert page.count("</body>") == 1
    probe_page = tmp_path / "probe.html"  # a copy elsewhere: the report must not depend on files beside it
    probe_page.write_text(page.replace("</body>", PROBE + "</body>"))

    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probe_page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, done.stdout[-2000:]
    rendered = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))

    images = rendered["images"]
    assert len(images) == 4  # accuracy, entropy, reward, injected fraction
    for image in images:  # decoded from the embedded PNG (a broken data URI has naturalWidth 0) and laid out
        assert image["complete"] and image["w"] > 300 and image["h"] > 200 and image["shown"] > 0, image
    cells = rendered["cells"]
    assert "grpo" in cells and "npo" in cells
    assert "46.00 ± 12.71" in cells  # npo synthetic: mean of 0.45, 0.47 with a Student-t 95% half-width (n = 2)
    assert rendered["best"] >= 1  # the best value per column is marked
