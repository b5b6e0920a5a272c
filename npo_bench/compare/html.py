"""A self-contained ``report.html``: the table and the plots embedded as base64 PNGs; nothing is fetched."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from npo_bench.compare.render import paired_grid, paired_notes, table_grid, table_notes
from npo_bench.compare.table import Table

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
td:first-child, th:first-child { text-align: left; }
td.best { font-weight: bold; background: #eef6ee; }
img { max-width: 48%; margin: 0.5em 0.5%; border: 1px solid #eee; }
"""


def to_html(table: Table, plots: list[Path], note: str | None = None) -> str:
    grid = table_grid(table, "\0{}")  # \0 marks a best cell
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in grid[0])
    body = []
    for row in grid[1:]:
        cells = []
        for cell in row:
            best = cell.startswith("\0")
            text = html.escape(cell.lstrip("\0"))
            cells.append(f'<td class="best">{text}</td>' if best else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    paired = ""
    if table.paired:
        grid_p = paired_grid(table)
        head_p = "".join(f"<th>{html.escape(cell)}</th>" for cell in grid_p[0])
        rows_p = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in grid_p[1:])
        notes_p = "".join(f"<li>{html.escape(n)}</li>" for n in paired_notes(table))
        paired = (
            f"<h2>paired differences vs {html.escape(table.reference)}</h2>\n"
            f"<table><thead><tr>{head_p}</tr></thead><tbody>{rows_p}</tbody></table>\n<ul>{notes_p}</ul>\n"
        )
    images = [
        f'<img alt="{html.escape(p.stem)}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">'
        for p in plots
    ]
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in [*table_notes(table), *([note] if note else [])])
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>npo-bench compare</title>'
        f"<style>{STYLE}</style></head><body>\n<h1>npo-bench compare</h1>\n"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>\n<ul>{notes}</ul>\n{paired}"
        f"<h2>curves</h2>\n<div>{''.join(images)}</div>\n</body></html>\n"
    )
