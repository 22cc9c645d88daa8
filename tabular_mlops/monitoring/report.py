"""The monitor's report as Markdown and as one self-contained HTML page.

The page loads nothing (no script, no stylesheet, no font from a network): each drifted
column gets an inline SVG of its reference and current distributions (shares per bin for a
numeric column, per category otherwise), so it opens offline and in a mail attachment.
"""
from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from tabular_mlops.monitoring.drift import NUMERIC
from tabular_mlops.monitoring.reference import Reference, drift_baseline

WIDTH, HEIGHT, MARGIN = 560, 220, 40
COLOURS = {"reference": "#4c78a8", "current": "#f58518"}
PLOT_BINS = 20
MAX_LABELS = 12


def headline(report: dict) -> str:
    if report["status"] != "ok":
        return f"not enough data: {report['rows']} rows, fewer than monitor.min_rows ({report['min_rows']}); no verdict"
    drift = "DATASET DRIFT" if report["dataset_drift"] else "no dataset drift"
    line = f"{drift}: {report['drifted_columns']} of {report['tested_columns']} columns drifted (share {report['drift_share']:.2f}), {report['rows']} rows"
    flagged = report["performance"].get("flagged_metrics")
    if flagged:
        line += f"; ESTIMATED DROP beyond monitor.max_estimated_drop: {', '.join(flagged)}"
    return line


def column_rows(report: dict) -> list[list[str]]:
    rows = []
    for name, column in report["columns"].items():
        rows.append([name, column["method"], _number(column["statistic"]), _number(column["threshold"]),
                     "**yes**" if column["drifted"] else "no", _number(column["psi"]),
                     f"{_number(column['missing_rate'])} / {_number(column['missing_rate_reference'])}" + _infinite(column),
                     f"{_number(column['unseen_rate'])} / {_number(column['unseen_rate_reference'])}" if "unseen_rate" in column else ""])
    return rows


def _infinite(column: dict) -> str:
    """Infinities are left out of the comparison like missing values; said only where there are some."""
    if not column.get("infinite_rate") and not column.get("infinite_rate_reference"):
        return ""
    return f" (infinite: {_number(column['infinite_rate'])} / {_number(column['infinite_rate_reference'])})"


COLUMN_HEADER = ["column", "method", "statistic", "threshold", "drifted", "PSI", "missing (current / reference)",
                 "unseen categories (current / test split)"]
PERFORMANCE_HEADER = ["metric", "reference realised", "reference estimated", "current estimated", "estimated drop", "max drop", "current realised"]


def performance_rows(performance: dict) -> list[list[str]]:
    if not isinstance(performance.get("estimated"), dict):
        return [[name, "", "", "", "", "", _number(value)] for name, value in performance.get("realised", {}).items()]
    realised = performance.get("realised", {})
    return [[name, _number(performance["reference_realised"][name]), _number(performance["reference_estimated"][name]),
             "not estimable" if value is None else _number(value), _number(performance["estimated_drop"].get(name)), _number(performance["max_estimated_drop"].get(name)),
             _number(realised.get(name))] for name, value in performance["estimated"].items()]


def markdown(report: dict) -> str:
    lines = [f"# Monitoring report ({report['problem']})", "", headline(report), ""]
    if report["status"] != "ok":
        return "\n".join(lines)
    lines += ["## Drift per column", "", "Tests (ks, z, chi_square): drift when the p-value is below the threshold. "
              "Distances (wasserstein, jensen_shannon): drift when at or above it. PSI is for reference only.", ""]
    lines += _markdown_table(COLUMN_HEADER, column_rows(report))
    performance = report["performance"]
    lines += ["", "## Performance", ""]
    if isinstance(performance["estimated"], str):
        lines.append(f"Performance {performance['estimated']}.")
    else:
        lines.append("Estimated from the model's probabilities without labels (confidence-based performance estimation"
                     f"{', after the calibration map' if performance['calibrated'] else ''}); the drop is the same estimate on the test split"
                     " minus the current estimate, so the estimator's own bias cancels. The test split's realised value is beside it.")
    lines.append(f"Labelled rows in the batch: {performance['labelled_rows']}.")
    rows = performance_rows(performance)
    if rows:
        lines += [""] + _markdown_table(PERFORMANCE_HEADER, rows)
    lines += group_lines(report.get("groups", {}))
    return "\n".join(lines) + "\n"


def group_lines(groups: dict) -> list[str]:
    """Selection rate per group of each protected column, batch beside test split."""
    lines = []
    for column, entry in groups.items():
        lines += ["", f"## Selection rate by `{column}`", ""]
        if entry["status"] != "ok":
            lines.append(f"`{column}` is {entry['status']}.")
            continue
        rows = [[g["group"], str(g["rows"]), str(g["reference_rows"]),
                 _number(g["selection_rate"]) if "selection_rate" in g else g["status"],
                 _number(g["reference_selection_rate"]) if "selection_rate" in g else ""] for g in entry["groups"]]
        lines += _markdown_table(["group", "rows", "test rows", "selection rate", "test split"], rows)
        gap = entry["gap"]
        lines.append("")
        lines.append(f"Gap (largest minus smallest rate, groups with enough rows): {_number(gap['current'])} in the batch,"
                     f" {_number(gap['reference'])} on the test split.")
    return lines


def html(report: dict, reference: Reference, current: pd.DataFrame) -> str:
    """The report page; one <svg class="drift-plot"> per drifted column, against the column's own
    drift reference (training inputs, or the test split's scores for a prediction column)."""
    kinds = reference.profile["columns"]
    parts = [f"<h1>Monitoring report ({escape(report['problem'])})</h1>", f"<p class=\"headline\">{escape(headline(report))}</p>"]
    if report["status"] == "ok":
        parts += ["<h2>Drift per column</h2>", _html_table(COLUMN_HEADER, column_rows(report))]
        rows = performance_rows(report["performance"])
        parts += ["<h2>Performance</h2>", f"<p>Labelled rows in the batch: {report['performance']['labelled_rows']}</p>"]
        parts += [_html_table(PERFORMANCE_HEADER, rows)] if rows else [f"<p>Performance {escape(str(report['performance']['estimated']))}.</p>"]
        parts.append("<h2>Drifted columns: reference (blue) and current (orange)</h2>")
        for name in report["drifted"]:
            parts.append(f"<h3>{escape(name)}</h3>" + distribution_svg(name, drift_baseline(reference, name), current[name], kinds.get(name, NUMERIC)))
    style = ("body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Monitoring report</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def distribution_svg(name: str, reference: pd.Series, current: pd.Series, kind: str) -> str:
    """Side-by-side bars of each bin's (or category's) share in the reference and the current rows."""
    labels, shares = _binned(reference.dropna(), current.dropna(), kind)
    top = max(max(values) for values in shares.values()) or 1.0
    slot = (WIDTH - 2 * MARGIN) / max(len(labels), 1)
    bars = []
    for position, label in enumerate(labels):
        for offset, (which, values) in enumerate(shares.items()):
            height = (HEIGHT - 2 * MARGIN) * values[position] / top
            x = MARGIN + position * slot + offset * slot / 2
            bars.append(f'<rect class="{which}" x="{x:.1f}" y="{HEIGHT - MARGIN - height:.1f}" width="{slot / 2 * 0.9:.1f}" '
                        f'height="{height:.1f}" fill="{COLOURS[which]}"><title>{escape(label)}: {which} {values[position]:.3f}</title></rect>')
    if len(labels) <= MAX_LABELS:  # categories (or few values): name each one under its bars
        ticks = "".join(f'<text x="{MARGIN + (position + 0.5) * slot:.1f}" y="{HEIGHT - 22}" font-size="11" text-anchor="middle">'
                        f'{escape(label)}</text>' for position, label in enumerate(labels))
    else:  # numeric bins: the lower edges of the first and the last
        ticks = (f'<text x="{MARGIN}" y="{HEIGHT - 22}" font-size="11">{escape(labels[0])}</text>'
                 f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - 22}" font-size="11" text-anchor="end">{escape(labels[-1])}</text>')
    axis = (f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" stroke="#333"/>{ticks}'
            f'<text x="{MARGIN}" y="20" font-size="11">share of rows (max {top:.3f}); '
            f'<tspan fill="{COLOURS["reference"]}">reference</tspan>, <tspan fill="{COLOURS["current"]}">current</tspan></text>')
    return (f'<svg class="drift-plot" data-column="{escape(name)}" width="{WIDTH}" '
            f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(name)}">{axis}{"".join(bars)}</svg>')


def _binned(reference: pd.Series, current: pd.Series, kind: str) -> tuple[list[str], dict[str, list[float]]]:
    if kind == NUMERIC:  # infinities are left out, as in the comparison
        reference, current = (values.astype("float64")[np.isfinite(values.astype("float64"))] for values in (reference, current))
    if kind == NUMERIC and pd.concat([reference, current]).nunique() > PLOT_BINS:
        both = pd.concat([reference, current])
        edges = np.linspace(both.min(), both.max(), PLOT_BINS + 1)
        shares = {which: (np.histogram(values.astype("float64"), edges)[0] / max(len(values), 1)).tolist()
                  for which, values in (("reference", reference), ("current", current))}
        return [f"{edge:g}" for edge in edges[:-1]], shares
    keys = sorted(set(reference.astype(str)) | set(current.astype(str)))
    shares = {which: values.astype(str).value_counts(normalize=True).reindex(keys, fill_value=0.0).tolist()
              for which, values in (("reference", reference), ("current", current))}
    return keys or ["(no values)"], shares if keys else {"reference": [0.0], "current": [0.0]}


def _number(value) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(row) + " |" for row in rows]


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell).replace('**', '')}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
