"""What the monitor costs and how often it cries wolf, on the bundled data and the trained model.

    python benchmarks/monitor.py [--repo PATH]     # from the repository root, after `dvc repro`

Reads PATH's models/bundle and data/prepared (PATH: this checkout by default), builds the
reference in-process with the params' defaults, then reports:
1. the monitor's time on 100,000 current rows (the test split resampled and scored; scoring
   is timed apart), the report's rendering included;
2. false dataset-drift alarms and flagged estimated drops over 20 seeded resamples of the test
   split, at 100, 200, 300 and 500 rows, with the spread of the estimated ROC-AUC (what
   monitor.min_rows rests on);
3. the shifted batch (tabular_mlops/monitoring/shift.py) for 5 seeds: drift share, estimated
   and realised ROC-AUC drop.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tabular_mlops.config.params import MonitorParams  # noqa: E402
from tabular_mlops.deployment.artifact import load_bundle  # noqa: E402
from tabular_mlops.monitoring.check import check_batch  # noqa: E402
from tabular_mlops.monitoring.reference import build_reference, scored  # noqa: E402
from tabular_mlops.monitoring.report import html, markdown  # noqa: E402
from tabular_mlops.monitoring.shift import shifted_batch  # noqa: E402

RESAMPLES = 20


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--repo", type=Path, default=ROOT)
    repo = arguments.parse_args().repo
    spec = MonitorParams()
    bundle = load_bundle(repo / "models/bundle")
    train, test = (pd.read_parquet(repo / f"data/prepared/{split}.parquet") for split in ("train", "test"))
    reference = build_reference(bundle, train, test, spec.reference_rows, 42, spec.calibration)
    print(f"reference: {len(reference.training)} training rows, {len(reference.test)} test rows, "
          f"test-split ECE {reference.profile['calibration']['ece']:.4f}")

    start = time.perf_counter()
    big = scored(bundle, test.sample(n=100_000, replace=True, random_state=0).reset_index(drop=True), "Status")
    scoring = time.perf_counter() - start
    start = time.perf_counter()
    report = check_batch(big, reference, spec)
    checking = time.perf_counter() - start
    start = time.perf_counter()
    markdown(report), html(report, reference.training, big, reference.profile["columns"])
    rendering = time.perf_counter() - start
    print(f"100,000 rows: monitor {checking:.2f} s, report rendering {rendering:.2f} s (scoring them: {scoring:.2f} s); "
          f"dataset drift {report['dataset_drift']}")

    for rows in (100, 200, 300, 500):
        reports = [check_batch(reference.test.sample(n=rows, replace=True, random_state=seed), reference, MonitorParams(min_rows=1))
                   for seed in range(RESAMPLES)]
        alarms = sum(r["dataset_drift"] for r in reports)
        drops = sum(bool(r["performance"]["flagged_metrics"]) for r in reports)
        spread = np.std([r["performance"]["estimated"]["roc_auc"] for r in reports])
        print(f"{rows} rows, {RESAMPLES} resamples of the test split: {alarms} dataset-drift alarms, {drops} estimated drops "
              f"flagged, estimated ROC-AUC std {spread:.4f}")

    for seed in range(5):
        report = check_batch(scored(bundle, shifted_batch(test, seed), "Status"), reference, spec)
        performance = report["performance"]
        realised = performance["reference_realised"]["roc_auc"] - performance["realised"]["roc_auc"]
        print(f"shifted batch, seed {seed}: drift share {report['drift_share']:.2f} (dataset drift {report['dataset_drift']}), "
              f"ROC-AUC drop estimated {performance['estimated_drop']['roc_auc']:.3f}, realised {realised:.3f}, "
              f"flagged {performance['flagged_metrics']}")


if __name__ == "__main__":
    main()
