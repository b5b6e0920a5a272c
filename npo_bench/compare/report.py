"""Write a comparison's report folder: ``table.md``, ``table.csv``, ``paired.csv``, ``results.json``, PNG plots,
``report.html``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from npo_bench.compare.plots import plot_curves
from npo_bench.compare.render import paired_csv, to_csv, to_markdown
from npo_bench.compare.results import RunResult, finite_json
from npo_bench.compare.table import Table
from npo_bench.runs import atomic_write_text


def table_json(table: Table) -> dict[str, Any]:
    return {
        "reference": table.reference,
        "columns": [{"key": c.key, "title": c.title, "better": c.better} for c in table.columns],
        "best": table.best,
        "rows": [
            {
                "method": row.method,
                "seeds": row.seeds,
                "failed": row.failed,
                "cells": {
                    key: {
                        "mean": cell.estimate.mean,
                        "ci95": cell.estimate.half_width,
                        "n": cell.estimate.n,
                        "of": cell.of,
                    }
                    for key, cell in row.cells.items()
                },
            }
            for row in table.rows
        ],
        "paired": [
            {
                "method": row.method,
                "score": row.column.key,
                "seeds": list(row.diff.seeds),
                "differences": list(row.diff.differences),
                "mean": row.diff.mean,
                "sd": row.diff.sd,
                "ci95_paired_t": [row.diff.t_low, row.diff.t_high],
                "ci95_bootstrap": [row.diff.boot_low, row.diff.boot_high],
                "wins": row.diff.wins,
                "losses": row.diff.losses,
                "ties": row.diff.ties,
                "sign_test_p": row.diff.sign_p,
                "t_test_p": row.diff.t_p,
                "holm_p": row.holm_p,
                "holm_family": row.family,
                "resolved": row.diff.resolved,
                "verdict": row.verdict,
            }
            for row in table.paired
        ],
    }


def write_report(out: Path, table: Table, results: list[RunResult], request: dict[str, Any]) -> list[Path]:
    from npo_bench.compare.html import to_html

    out.mkdir(parents=True, exist_ok=True)
    files = {"table.md": to_markdown(table), "table.csv": to_csv(table), "paired.csv": paired_csv(table)}
    results_json = {"request": request, "table": table_json(table), "runs": [r.to_json() for r in results]}
    files["results.json"] = json.dumps(finite_json(results_json), indent=2, sort_keys=True, allow_nan=False) + "\n"
    written = []
    for name, text in files.items():
        atomic_write_text(out / name, text)
        written.append(out / name)
    plots, note = plot_curves(results, table, out)
    atomic_write_text(out / "report.html", to_html(table, plots, note))
    return [*written, *plots, out / "report.html"]
