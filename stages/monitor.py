"""Monitor: one scored batch (monitor.current) against the reference profile.

Writes metrics/monitor.json, metrics/monitor.md and the self-contained metrics/monitor.html, and
the headline figures under metrics/monitoring/ (DVC metrics: `dvc metrics diff` shows the drift
verdicts between commits); then, when a gate option asks for it, fails (exit 1, a verdict) on
dataset drift or on an estimated drop, after writing the report.
"""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.data.tables import read_table
from tabular_mlops.errors import Verdict, run_stage
from tabular_mlops.files import write_json, write_json_folder, write_text
from tabular_mlops.monitoring.check import check_batch, gate_failure
from tabular_mlops.monitoring.reference import read_reference
from tabular_mlops.monitoring.report import headline, html, markdown
from tabular_mlops.reporting.headline import MONITORING, monitoring_rows

REFERENCE = "models/reference"
REPORT_JSON, REPORT_MD, REPORT_HTML = "metrics/monitor.json", "metrics/monitor.md", "metrics/monitor.html"


def main() -> None:
    params = load_params()
    spec = params.monitor
    reference = read_reference(REFERENCE)
    current = read_table(spec.current)
    report = check_batch(current, reference, spec, spec.current, params.fairness.min_group_rows)
    write_json(REPORT_JSON, report)
    write_json_folder(MONITORING, monitoring_rows(report))
    write_text(REPORT_MD, markdown(report))
    write_text(REPORT_HTML, html(report, reference, current))
    print(f"monitor: {headline(report)} (report: {REPORT_MD}, {REPORT_HTML})")
    failure = gate_failure(report, spec, spec.current)
    if failure:
        raise Verdict(failure)


if __name__ == "__main__":
    run_stage(main)
