"""Performance without labels for binary classification: NannyML's confidence-based performance
estimation (CBPE).

If the probabilities are calibrated, a row scored p is a positive with probability p. So a row
decided positive (the decision served: p >= threshold, or a fairness-mitigated model's) is a true positive with probability p and a false positive
with 1 - p; a row decided negative is a false negative with p and a true negative with 1 - p.
Summing over the rows gives the expected confusion matrix, hence accuracy, precision, recall
and F1. ROC-AUC: the same expected counts at every threshold (each distinct score) give the
expected ROC curve, whose area is the estimate. The assumptions: calibrated probabilities and no
concept drift (P(label | inputs) unchanged); covariate shift is what it follows.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1")


def expected_confusion(probability: np.ndarray, decided: np.ndarray) -> dict[str, float]:
    """`decided`: the decisions served (True: positive class); `probability`: the (calibrated)
    probabilities, which may order rows differently near the threshold."""
    probability = np.asarray(probability, dtype=float)
    positive = np.asarray(decided, dtype=bool)
    return {"tp": float(probability[positive].sum()), "fp": float((1 - probability[positive]).sum()),
            "fn": float(probability[~positive].sum()), "tn": float((1 - probability[~positive]).sum())}


def estimated_roc_auc(probability: np.ndarray) -> float | None:
    """Area under the expected ROC curve: thresholds at each distinct score, highest first.

    None (not estimable, as NannyML's NaN) when no positive or no negative is expected: every
    probability 0, or every one 1. An area then would be a number with nothing behind it.
    """
    probability = np.asarray(probability, dtype=float)
    scores, inverse = np.unique(-probability, return_inverse=True)  # distinct scores, descending
    positives = np.bincount(inverse, weights=probability)  # expected positives at each score
    negatives = np.bincount(inverse, weights=1 - probability)
    if positives.sum() <= 0 or negatives.sum() <= 0:
        return None
    tpr = np.concatenate([[0.0], np.cumsum(positives)]) / positives.sum()
    fpr = np.concatenate([[0.0], np.cumsum(negatives)]) / negatives.sum()
    return float(np.trapezoid(tpr, fpr))


def estimate(probability: np.ndarray, decided: np.ndarray) -> dict[str, float | None]:
    """The expected metrics of a batch whose (calibrated) probabilities are `probability` and
    whose served decisions are `decided`; ROC-AUC None when it is not estimable."""
    counts = expected_confusion(probability, decided)
    tp, fp, fn, tn = counts["tp"], counts["fp"], counts["fn"], counts["tn"]
    return {
        "roc_auc": estimated_roc_auc(probability),
        "accuracy": (tp + tn) / max(tp + fp + fn + tn, 1e-12),
        "precision": tp / (tp + fp) if tp + fp > 0 else 0.0,
        "recall": tp / (tp + fn) if tp + fn > 0 else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else 0.0,
    }


def realised(target: np.ndarray, probability: np.ndarray, decided: np.ndarray) -> dict[str, float | None]:
    """The same metrics from labels (1 = positive class), by scikit-learn; ROC-AUC null with one class."""
    target = np.asarray(target, dtype=int)
    decided = np.asarray(decided, dtype=int)
    return {
        "roc_auc": float(roc_auc_score(target, probability)) if len(np.unique(target)) == 2 else None,
        "accuracy": float(accuracy_score(target, decided)),
        "precision": float(precision_score(target, decided, zero_division=0)),
        "recall": float(recall_score(target, decided, zero_division=0)),
        "f1": float(f1_score(target, decided, zero_division=0)),
    }
