"""A multi-layer perceptron: both tasks; explained model-agnostically, a classifier in probability."""
from __future__ import annotations

from pydantic import Field

from tabular_mlops.families.family import Family
from tabular_mlops.params_section import Section


class MlpParams(Section):
    hidden_layer_sizes: list[int] = Field(min_length=1)
    alpha: float = Field(ge=0)
    learning_rate_init: float = Field(gt=0)
    max_iter: int = Field(ge=1)


def _network(estimator, spec: MlpParams, seed: int):
    return estimator(
        hidden_layer_sizes=tuple(spec.hidden_layer_sizes), alpha=spec.alpha,
        learning_rate_init=spec.learning_rate_init, max_iter=spec.max_iter, random_state=seed,
    )


def classifier(spec: MlpParams, seed: int):
    from sklearn.neural_network import MLPClassifier

    return _network(MLPClassifier, spec, seed)


def regressor(spec: MlpParams, seed: int):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    # A network learns a target of mean 0 and scale 1 far better than raw units.
    return TransformedTargetRegressor(regressor=_network(MLPRegressor, spec, seed), transformer=StandardScaler())


FAMILY = Family(
    name="mlp",
    params=MlpParams,
    factories={"classification": classifier, "regression": regressor},
    search_space={"alpha": [0.0001, 0.01, 1.0], "hidden_layer_sizes": [[16], [64, 32]]},
)
