"""The model card's operating point, calibration and decision curve (binary classification).

What a risk officer or a clinician checks before using the scores: the rates at the chosen
threshold with their intervals, whether the probabilities are right on average and spread as
they should, and whether acting on the model beats acting on everyone or no one.
"""
from __future__ import annotations

from tabular_mlops.config.params import Params

RATES = {"sensitivity": "sensitivity (positives flagged)", "specificity": "specificity (negatives passed)",
         "precision": "positive predictive value", "npv": "negative predictive value"}


def _interval(figures: dict, name: str) -> str:
    value, low, high = figures.get(name), figures.get(f"{name}_low"), figures.get(f"{name}_high")
    if value is None:
        return "not defined (no rows)"
    return f"{value:.3f} ({low:.3f} to {high:.3f})"


def operating_lines(params: Params, metrics: dict) -> list[str]:
    point, calibrated, curve = metrics.get("operating_point"), metrics.get("calibration"), metrics.get("decision_curve")
    if point is None:
        return []
    spec, confidence = params.evaluate.threshold, params.evaluate.confidence
    asked = {"min_sensitivity": "sensitivity", "min_specificity": "specificity", "min_precision": "positive predictive value"}
    why = (f"chosen to reach {asked[spec.method]} {spec.target:g} on out-of-fold training predictions" if spec.method in asked
           else f"{spec.method}, chosen on out-of-fold training predictions")
    lines = ["", f"## Operating point, calibration and decision curve (test split, {point['rows']:,} rows, {point['positives']:,} positive)", "",
             f"At the threshold {point['threshold']:g} ({why}); {confidence:.0%} Wilson intervals:", ""]
    lines += [f"- {label}: {_interval(point, name)}" for name, label in RATES.items()]
    lines += ["", f"Calibration ({confidence:.0%} Wald intervals, logistic recalibration on the logit of the probability):", "",
              f"- calibration-in-the-large (intercept, 0 is ideal; above 0: the probabilities are too low on average): "
              f"{_interval(calibrated, 'intercept')}",
              f"- calibration slope (1 is ideal; below 1: too extreme, above 1: too modest): {_interval(calibrated, 'slope')}", ""]
    benefit = f"{point['net_benefit']:.4f}" if point.get("net_benefit") is not None else "not defined"
    lines.append(f"Net benefit at the threshold: {benefit} (treating everyone: {point['net_benefit_treat_all']:.4f}; no one: 0).")
    dc = params.evaluate.decision_curve
    span = (f"the model beats both from {curve['beats_both_from']:g} to {curve['beats_both_to']:g}" if curve.get("beats_both_from") is not None
            else "the model beats neither strategy anywhere")
    lines.append(f"Decision curve over threshold probabilities {dc.start:g} to {dc.stop:g}: {span} "
                 "(metrics/evaluate/plots/custom/decision_curve.json; `dvc plots show` draws it).")
    return lines
