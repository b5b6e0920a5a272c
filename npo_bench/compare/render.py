"""The table as Markdown (best per column in bold), CSV (full precision) and aligned terminal text (best marked *).

The paired evidence follows the table in each form: a row per method and compared score with the per-seed differences
(points), their mean, both 95% intervals, the sign count and the verdict in words.
"""

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


def _points(value: float, scale: float) -> str:
    return "—" if math.isnan(value) else f"{value * scale:+.2f}"


def _interval(low: float, high: float, scale: float) -> str:
    return "—" if math.isnan(low) else f"[{low * scale:+.2f}, {high * scale:+.2f}]"


def paired_grid(table: Table) -> list[list[str]]:
    """Header + a row per paired comparison (differences in the column's display unit: points for scores)."""
    header = [
        "method",
        "score",
        f"− {table.reference}, per seed",
        "mean",
        "95% CI (paired t)",
        "95% CI (bootstrap)",
        "signs +/−/=",
        "p (paired t)",
        "Holm p",
        "resolved?",
    ]
    rows = [header]
    for row in table.paired:
        d, scale = row.diff, row.column.scale
        per_seed = " ".join(f"s{seed}:{_points(v, scale)}" for seed, v in zip(d.seeds, d.differences, strict=True))
        resolved = "yes, CI excludes 0" if d.resolved else "no, CI includes 0" if d.n >= 2 else "no (one seed)"
        if d.n >= 2 and not d.resolved and (d.t_excludes_zero or d.bootstrap_excludes_zero):
            resolved = "no, the two CIs disagree"
        rows.append(
            [
                row.method,
                row.column.title,
                per_seed or "—",
                _points(d.mean, scale),
                _interval(d.t_low, d.t_high, scale),
                _interval(d.boot_low, d.boot_high, scale),
                f"{d.wins}/{d.losses}/{d.ties}",
                _p(d.t_p),
                _p(row.holm_p) if row.family > 1 else "—",
                resolved,
            ]
        )
    return rows


def _p(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}" if value >= 0.001 else "<0.001"


def paired_notes(table: Table) -> list[str]:
    if not table.paired:
        return []
    return [
        f"paired: per seed, method − {table.reference} on the same base, seed and data order (points); mean with "
        "its 95% CI by paired t and by a seeded percentile bootstrap over seeds; resolved = both CIs exclude 0. "
        f"Holm p: the paired-t p adjusted (Holm–Bonferroni) over every method compared with {table.reference} on "
        "that score, so that all the 'resolved' claims together hold at 5% — a per-comparison CI that excludes 0 "
        "but a Holm p ≥ 0.05 may be one of several draws.",
        *(row.verdict for row in table.paired),
        *_holm_summary(table),
    ]


def _holm_summary(table: Table) -> list[str]:
    """One sentence per compared score with several methods: which differences survive the Holm adjustment."""
    lines = []
    for key in dict.fromkeys(row.column.key for row in table.paired):
        family = [row for row in table.paired if row.column.key == key and not math.isnan(row.holm_p)]
        if len(family) < 2:
            continue
        kept = [row.method for row in family if row.holm_p < 0.05]
        lost = [row.method for row in family if row.holm_p >= 0.05 and row.diff.resolved]
        sentence = (
            f"{family[0].column.title}, {len(family)} methods vs {table.reference} (Holm): "
            f"{', '.join(kept) or 'none'} below 0.05"
        )
        if lost:
            sentence += f"; resolved on its own CIs but not after the adjustment: {', '.join(lost)}"
        lines.append(sentence)
    return lines


def _markdown_grid(grid: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(grid[0]) + " |", "|" + "---|" * len(grid[0])]
    return lines + ["| " + " | ".join(row) + " |" for row in grid[1:]]


def _text_grid(grid: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in grid]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def to_markdown(table: Table) -> str:
    text = "\n".join(_markdown_grid(table_grid(table, "**{}**")))
    text += "\n\n" + "\n".join(f"- {note}" for note in table_notes(table)) + "\n"
    if table.paired:
        text += f"\n### Paired differences vs {table.reference}\n\n" + "\n".join(_markdown_grid(paired_grid(table)))
        text += "\n\n" + "\n".join(f"- {note}" for note in paired_notes(table)) + "\n"
    return text


def to_text(table: Table) -> str:
    lines = _text_grid(table_grid(table, "{}*")) + ["", *table_notes(table)]
    if table.paired:
        lines += [
            "",
            f"paired differences vs {table.reference}:",
            *_text_grid(paired_grid(table)),
            "",
            *paired_notes(table),
        ]
    return "\n".join(lines)


def paired_csv(table: Table) -> str:
    """The paired comparisons at full precision (0..1 scale): one row per method and score."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["method", "score", "reference", "n", "seeds", "differences", "mean", "sd", "t_low", "t_high"]
        + ["boot_low", "boot_high", "wins", "losses", "ties", "sign_p", "resolved", "t_p", "holm_p", "holm_family"]
    )
    for row in table.paired:
        d = row.diff
        writer.writerow(
            [row.method, row.column.key, table.reference, d.n, " ".join(map(str, d.seeds))]
            + [" ".join(repr(v) for v in d.differences), _num(d.mean), _num(d.sd), _num(d.t_low), _num(d.t_high)]
            + [_num(d.boot_low), _num(d.boot_high), d.wins, d.losses, d.ties, repr(d.sign_p), int(d.resolved)]
            + [_num(d.t_p), _num(row.holm_p), row.family]
        )
    return out.getvalue()


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
