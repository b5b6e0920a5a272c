"""The table as Markdown (best per column in bold), CSV (full precision) and aligned terminal text (best marked *)."""

from __future__ import annotations

import csv
import io
import math

from npo_bench.compare.table import Cell, Column, Table


def format_cell(cell: Cell, column: Column) -> str:
    est = cell.estimate
    if est.n == 0:
        return "—"
    text = f"{est.mean * column.scale:.{column.digits}f}"
    if not math.isnan(est.half_width):
        text += f" ± {est.half_width * column.scale:.{column.digits}f}"
    if est.n < cell.of:
        text += f" ({est.n}/{cell.of})"
    return text


def table_grid(table: Table, mark: str) -> list[list[str]]:
    header = ["method", *(c.title for c in table.columns), "seeds"]
    lines = [header]
    for row in table.rows:
        cells = []
        for column in table.columns:
            text = format_cell(row.cells[column.key], column)
            best = row.method in table.best.get(column.key, [])
            cells.append(mark.format(text) if best and text != "—" else text)
        seeds = f"{len(row.seeds)} ok" + (f", {len(row.failed)} failed" if row.failed else "")
        lines.append([row.method, *cells, seeds])
    return lines


def table_notes(table: Table) -> list[str]:
    notes = [
        "mean ± 95% CI over seeds (Student t); scores in percent; best per column marked.",
        f"steps/updates to {table.reference} final: first evaluated step reaching the same seed's {table.reference} "
        "final held-out accuracy; updates count every optimizer step incl. scouts and replayed segments; (k/n) = "
        "seeds that reached it.",
    ]
    notes += [f"failed: {row.method} {failure}" for row in table.rows for failure in row.failed]
    return notes


def to_markdown(table: Table) -> str:
    grid = table_grid(table, "**{}**")
    lines = ["| " + " | ".join(grid[0]) + " |", "|" + "---|" * len(grid[0])]
    lines += ["| " + " | ".join(row) + " |" for row in grid[1:]]
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {note}" for note in table_notes(table)) + "\n"


def to_text(table: Table) -> str:
    grid = table_grid(table, "{}*")
    widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in grid]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines + ["", *table_notes(table)])


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["method", "seeds_ok", "seeds_failed"]
    for column in table.columns:
        header += [f"{column.key}_mean", f"{column.key}_ci95", f"{column.key}_n", f"{column.key}_best"]
    writer.writerow(header)
    for row in table.rows:
        line: list[object] = [row.method, len(row.seeds), len(row.failed)]
        for column in table.columns:
            est = row.cells[column.key].estimate
            line += [_num(est.mean), _num(est.half_width), est.n, int(row.method in table.best.get(column.key, []))]
        writer.writerow(line)
    return out.getvalue()


def _num(value: float) -> str:
    return "" if math.isnan(value) else repr(value)
