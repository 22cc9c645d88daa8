"""What a model family is: everything the pipeline needs to know about it, in one object.

Each module of this package defines one `FAMILY`, and registry.py lists them. A family module
imports its estimators inside its factories, never at the top: params.yaml is validated by every
stage, and a stage that fits nothing must not pay for scikit-learn (or need an optional package).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from tabular_mlops.params_section import Section

Factory = Callable[[Any, int], Any]  # (the family's params section, the seed) -> an unfitted estimator
# (an unfitted estimator, {preprocessed feature name: 1 increasing | -1 decreasing}) -> the estimator under those constraints
Constrain = Callable[[Any, dict[str, int]], Any]
Monotonic = Literal["enforced", "constant", "cannot"]
# How the leaderboard and the model card name each way of honouring train.monotonic.
MONOTONIC_LABELS: dict[str, str] = {"enforced": "enforced", "constant": "honours (constant)", "cannot": "cannot enforce"}


@dataclass(frozen=True)
class Explanation:
    """How SHAP explains the family's fitted estimator (explanations/explainers.py).

    tree: TreeExplainer, path-dependent, exact; linear: LinearExplainer, exact; constant: every
    contribution is 0; model_agnostic: ExactExplainer for few columns, else PermutationExplainer.
    """

    method: Literal["tree", "linear", "constant", "model_agnostic"] = "model_agnostic"
    # Classification: the space the contributions add up in. log_odds where the model sums its
    # terms in the margin (logistic regression, gradient boosting), probability where it averages.
    classification_output: Literal["log_odds", "probability"] = "probability"
    # The fitted estimator classes the method applies to (a function, so that an optional package
    # is imported only when a model is explained); a wrapper of them is explained model-agnostically.
    estimators: Callable[[], tuple[type, ...]] = lambda: ()
    # The margin (log_odds) of a fitted classifier; None: its decision_function.
    margin: Callable[[Any, Any], Any] | None = None


@dataclass(frozen=True)
class Family:
    name: str                        # train.model, leaderboard.families, train.<name> in params.yaml
    params: type[Section]            # the train.<name> section: its hyperparameters, validated
    factories: dict[str, Factory]    # task (classification, regression) -> estimator; the tasks it supports
    search_space: dict[str, list] = field(default_factory=dict)  # hyperparameter -> candidates, when train.search.space omits it
    explanation: Explanation = Explanation()
    # Packages it needs beyond the core install (imported and installed under these names): checked
    # before an estimator is built, and their versions recorded with the model (models/model.json).
    requires: tuple[str, ...] = ()
    extra: str | None = None         # the pip extra that installs them: pip install -e '.[extra]'
    # How it honours train.monotonic (a direction per numeric input column): "enforced" by `constrain`,
    # "constant" (its output never moves with an input), or "cannot" (a constrained run refuses it as
    # train.model, and train.model: auto passes it over). The evaluate stage checks the fitted model either way.
    monotonic: Monotonic = "cannot"
    constrain: Constrain | None = None

    def __post_init__(self) -> None:
        if (self.monotonic == "enforced") != (self.constrain is not None):
            raise ValueError(f"family '{self.name}': monotonic 'enforced' goes with a constrain function, and only it")
