"""The evaluation's figures, gathered from the stages that compute them.

evaluate, nested_cv and fairness each write the sections they compute to their own metrics.json;
gates, the model card, the headline and the review read them as one dict, in the order below.
A revision whose evaluate still wrote every section to metrics/evaluate/metrics.json reads the same.
"""
from __future__ import annotations

import json
from typing import Callable

# test, cv, baseline, over_baseline, threshold; binary: operating_point, calibration, decision_curve; monotonic (train.monotonic)
EVALUATE = "metrics/evaluate/metrics.json"
NESTED_CV = "metrics/nested_cv/metrics.json"  # nested_cv, with evaluate.nested_cv on
FAIRNESS = "metrics/fairness/metrics.json"  # fairness: the gaps per protected column
SOURCES = (EVALUATE, NESTED_CV, FAIRNESS)
SECTION_ORDER = ("test", "cv", "nested_cv", "baseline", "over_baseline", "operating_point", "calibration", "decision_curve",
                 "monotonic", "fairness", "threshold")


def gathered(parts: list[dict]) -> dict:
    """The sections of every part, in SECTION_ORDER (a later part's section replaces an earlier one's)."""
    merged = {}
    for part in parts:
        merged.update(part)
    return {section: merged[section] for section in SECTION_ORDER if section in merged}


def read_figures(read_text: Callable[[str], str | None]) -> dict | None:
    """The gathered figures from `read_text(path)` (None for a file that is missing); None without
    evaluate's metrics.json."""
    texts = [read_text(path) for path in SOURCES]
    if texts[0] is None:
        return None
    return gathered([json.loads(text) for text in texts if text is not None])
