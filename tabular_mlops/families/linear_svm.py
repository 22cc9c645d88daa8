"""Linear SVM with calibrated probabilities: classification; explained model-agnostically."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from tabular_mlops.families.family import Family
from tabular_mlops.params_section import Section


class LinearSvmParams(Section):
    C: float = Field(gt=0)
    max_iter: int = Field(ge=1)
    calibration: Literal["sigmoid", "isotonic"]  # how the margins become probabilities


def classifier(spec: LinearSvmParams, seed: int):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    # LinearSVC gives margins, not probabilities: calibrate them on internal folds.
    svm = LinearSVC(C=spec.C, max_iter=spec.max_iter, random_state=seed)
    return CalibratedClassifierCV(svm, method=spec.calibration, cv=3)


# Three calibrated models average their probabilities: no exact SHAP method applies.
FAMILY = Family(
    name="linear_svm",
    params=LinearSvmParams,
    factories={"classification": classifier},
    search_space={"C": [0.01, 0.1, 1.0]},
)
