"""The model families that train.model and leaderboard.families may name: one line each below.

To add a family, write its module beside this one (family.py says what it defines;
docs/how-to/add-a-model-family.md walks through lightgbm.py) and list its FAMILY in FAMILIES.
params.yaml then needs its `train.<name>` section. The order of FAMILIES is the order in which
messages list the families.
"""
from __future__ import annotations

import importlib
import sys

from tabular_mlops.errors import StageError
from tabular_mlops.families import (
    dummy,
    hist_gradient_boosting,
    lightgbm,
    linear_regression,
    linear_svm,
    logistic_regression,
    mlp,
    random_forest,
    ridge,
)
from tabular_mlops.families.family import Explanation, Family

FAMILIES: tuple[Family, ...] = (
    logistic_regression.FAMILY,
    linear_svm.FAMILY,
    linear_regression.FAMILY,
    ridge.FAMILY,
    random_forest.FAMILY,
    hist_gradient_boosting.FAMILY,
    lightgbm.FAMILY,
    mlp.FAMILY,
    dummy.FAMILY,
)
TASKS = ("classification", "regression")
BY_NAME = {family.name: family for family in FAMILIES}
FAMILIES_BY_TASK = {task: tuple(family.name for family in FAMILIES if task in family.factories) for task in TASKS}
assert len(BY_NAME) == len(FAMILIES) and all(set(family.factories) <= set(TASKS) for family in FAMILIES)


def build_estimator(task: str, name: str, spec, seed: int):
    """An unfitted estimator; the family and its params were validated by tabular_mlops.config.params."""
    family = BY_NAME[name]
    require(family)
    return family.factories[task](spec, seed)


def honours_monotonic(name: str) -> bool:
    """Whether family `name` can be trained under train.monotonic: it enforces it, or its output is constant."""
    return BY_NAME[name].monotonic != "cannot"


def require(family: Family) -> None:
    """Refuse, in one line naming the pip extra, a family whose optional package does not import."""
    for package in family.requires:
        try:
            importlib.import_module(package)
        except ImportError:
            raise StageError(f"model family '{family.name}' needs the {package} package, which is not installed; "
                             f"install it with {install_command(package)}") from None


def install_command(package: str) -> str:
    """How to install `package`: the extra of the family that requires it, else pip itself."""
    extras = [family.extra for family in FAMILIES if package in family.requires and family.extra]
    return f"pip install -e '.[{extras[0]}]'" if extras else f"pip install {package}"


def explanation_for(estimator) -> Explanation:
    """How to explain a fitted estimator: its family's way, or model-agnostically (a wrapper such
    as the calibrated SVM or a fairness mitigation, or a family without an exact method)."""
    for family in FAMILIES:
        # A family's estimator exists in this process only if its packages were imported (to build or unpickle it).
        if all(sys.modules.get(package) is not None for package in family.requires) \
                and isinstance(estimator, family.explanation.estimators()):
            return family.explanation
    return Explanation()
