"""The fitted estimator as ONNX nodes: [rows, features] doubles -> probabilities or values.

Linear models, the calibrated linear SVM and the MLP go through skl2onnx's converters, in double
precision. The tree ensembles are written here against ai.onnx.ml's TreeEnsemble (opset 5),
which keeps thresholds and leaf values in double: skl2onnx's tree converters round them to
float32, and a row near a threshold could then take the other branch. The dummy is a constant.
Anything else is refused by name.
"""
from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from tabular_mlops.compiled.graph import DOUBLE, Graph, NotCompilable

SKL2ONNX = ("LogisticRegression", "CalibratedClassifierCV", "LinearRegression", "Ridge", "MLPClassifier", "MLPRegressor")


def estimator_nodes(graph: Graph, estimator, features: str, columns: int, problem: str) -> str:
    """[rows, classes] probabilities in the estimator's classes_ order (classifiers), or [rows, 1] values."""
    kind = type(estimator).__name__
    if kind == "TransformedTargetRegressor":
        return _transformed_target(graph, estimator, features, columns)
    if kind in ("DummyClassifier", "DummyRegressor"):
        return _constant(graph, estimator, features, problem)
    if kind in ("RandomForestClassifier", "RandomForestRegressor"):
        return _forest(graph, estimator, features, problem)
    if kind in ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor"):
        return _boosting(graph, estimator, features, problem)
    if kind in SKL2ONNX:
        return _skl2onnx(graph, estimator, features, columns, problem)
    raise NotCompilable(f"the estimator {kind} has no ONNX converter here")


def _transformed_target(graph: Graph, wrapper, features: str, columns: int) -> str:
    """The regressor's value mapped back to the target's units: StandardScaler's inverse, x * scale + mean."""
    from sklearn.preprocessing import StandardScaler

    scaler = wrapper.transformer_
    if not isinstance(scaler, StandardScaler) or wrapper.func is not None:
        raise NotCompilable(f"TransformedTargetRegressor with {type(scaler).__name__} (only StandardScaler here)")
    values = estimator_nodes(graph, wrapper.regressor_, features, columns, "regression")
    if scaler.with_std:
        values = graph.node("Mul", values, graph.constant(scaler.scale_.reshape(1, -1)))
    if scaler.with_mean:
        values = graph.node("Add", values, graph.constant(scaler.mean_.reshape(1, -1)))
    return values


def _skl2onnx(graph: Graph, estimator, features: str, columns: int, problem: str) -> str:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    if type(estimator).__name__ == "CalibratedClassifierCV" and estimator.method != "sigmoid":
        # skl2onnx's isotonic calibration does not reproduce scikit-learn's (measured: 0.03 apart)
        raise NotCompilable(f"CalibratedClassifierCV with method={estimator.method!r} (only sigmoid converts exactly)")
    options = {id(estimator): {"zipmap": False}} if problem != "regression" else None
    try:
        converted = convert_sklearn(estimator, initial_types=[("features", DoubleTensorType([None, columns]))],
                                    options=options, target_opset={"": graph.opsets[""], "ai.onnx.ml": 3})
    except Exception as error:  # skl2onnx raises many kinds; the reason is what matters
        raise NotCompilable(f"skl2onnx could not convert {type(estimator).__name__}: {str(error).splitlines()[0][:200]}") from None
    outputs = graph.include(converted, features, "model/")
    return outputs[1] if problem != "regression" else outputs[0]  # classifiers: label, then probabilities


def _constant(graph: Graph, estimator, features: str, problem: str) -> str:
    if problem == "regression":
        if estimator.strategy != "mean":
            raise NotCompilable(f"DummyRegressor with strategy={estimator.strategy!r}")
        row = np.asarray(estimator.constant_, dtype=np.float64).reshape(1, -1)
    else:
        if estimator.strategy != "prior":
            raise NotCompilable(f"DummyClassifier with strategy={estimator.strategy!r}")
        row = np.asarray(estimator.class_prior_, dtype=np.float64).reshape(1, -1)
    rows = graph.node("Slice", graph.node("Shape", features), graph.constant(np.array([0], dtype=np.int64)),
                      graph.constant(np.array([1], dtype=np.int64)))
    shape = graph.node("Concat", rows, graph.constant(np.array([row.shape[1]], dtype=np.int64)), axis=0)
    return graph.node("Expand", graph.constant(row), shape)


class _Trees:
    """TreeEnsemble's flat arrays: interior nodes and leaves of every tree, one target per leaf."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in (
            "features", "splits", "true_ids", "true_leafs", "false_ids", "false_leafs", "missing_true", "leaf_targets", "leaf_weights")}
        self.roots: list[int] = []
        self.nodes = self.leaves = 0

    def add(self, feature, threshold, left, right, is_leaf, missing_left, leaf_value, target: int) -> None:
        """One tree in scikit-learn's arrays (node i goes left when x <= threshold[i]); its leaves
        add leaf_value[i] to output `target`. Vectorised: a forest of a million nodes takes a second."""
        is_leaf = np.asarray(is_leaf, dtype=bool)
        # each of scikit-learn's node indices -> its position among the interior nodes, or among the leaves
        position = np.where(is_leaf, np.cumsum(is_leaf) - 1, np.cumsum(~is_leaf) - 1) + np.where(is_leaf, self.leaves, self.nodes)
        leaves = np.flatnonzero(is_leaf)
        self.parts["leaf_targets"].append(np.full(len(leaves), target, dtype=np.int64))
        self.parts["leaf_weights"].append(np.asarray(leaf_value, dtype=np.float64)[leaves])
        interior = np.flatnonzero(~is_leaf)
        if not len(interior):  # a tree of one leaf: a split whose two branches reach it
            interior, left, right, is_leaf = np.array([0]), np.array([0]), np.array([0]), np.array([True])
            feature, threshold, missing_left = np.array([0]), np.array([0.0]), np.array([0])
            position = np.array([self.leaves])
        self.roots.append(self.nodes)  # scikit-learn's root is node 0, the first interior node
        low, high = np.asarray(left)[interior], np.asarray(right)[interior]
        self.parts["features"].append(np.asarray(feature)[interior].astype(np.int64))
        self.parts["splits"].append(np.asarray(threshold, dtype=np.float64)[interior])
        self.parts["true_ids"].append(position[low].astype(np.int64))
        self.parts["true_leafs"].append(is_leaf[low].astype(np.int64))
        self.parts["false_ids"].append(position[high].astype(np.int64))
        self.parts["false_leafs"].append(is_leaf[high].astype(np.int64))
        self.parts["missing_true"].append(np.asarray(missing_left)[interior].astype(np.int64))
        self.nodes += len(interior)
        self.leaves += len(leaves)
        if self.nodes + self.leaves > MAX_TREE_NODES:
            raise NotCompilable(f"the trees have more than {MAX_TREE_NODES:,} nodes: their graph would pass ONNX's 2 GB limit")

    def node(self, graph: Graph, features: str, targets: int) -> str:
        graph.opsets["ai.onnx.ml"] = max(graph.opsets.get("ai.onnx.ml", 0), 5)
        flat = {name: np.concatenate(arrays) for name, arrays in self.parts.items()}
        return graph.node(
            "TreeEnsemble", features, domain="ai.onnx.ml", n_targets=targets, aggregate_function=1,  # SUM
            post_transform=0, tree_roots=self.roots, nodes_featureids=flat["features"].tolist(),
            nodes_modes=numpy_helper.from_array(np.zeros(self.nodes, dtype=np.uint8)),  # BRANCH_LEQ
            nodes_splits=numpy_helper.from_array(flat["splits"]),
            nodes_truenodeids=flat["true_ids"].tolist(), nodes_trueleafs=flat["true_leafs"].tolist(),
            nodes_falsenodeids=flat["false_ids"].tolist(), nodes_falseleafs=flat["false_leafs"].tolist(),
            nodes_missing_value_tracks_true=flat["missing_true"].tolist(), leaf_targetids=flat["leaf_targets"].tolist(),
            leaf_weights=numpy_helper.from_array(flat["leaf_weights"]))


MAX_TREE_NODES = 40_000_000  # about 50 bytes each in the graph


def _forest(graph: Graph, forest, features: str, problem: str) -> str:
    """scikit-learn's trees compare the features as float32 with double thresholds: so do these."""
    trees = _Trees()
    outputs = 1 if problem == "regression" else len(forest.classes_)
    for estimator in forest.estimators_:
        tree = estimator.tree_
        is_leaf = tree.children_left == -1
        missing_left = getattr(tree, "missing_go_to_left", np.zeros(tree.node_count, dtype=np.uint8))
        values = tree.value[:, 0, :]
        if problem != "regression":  # a tree's probabilities: its leaf's class shares
            totals = values.sum(axis=1, keepdims=True)
            values = values / np.where(totals == 0, 1.0, totals)
        for target in range(outputs):
            trees.add(tree.feature, tree.threshold, tree.children_left, tree.children_right, is_leaf, missing_left,
                      values[:, target], target)
    as_float32 = graph.node("Cast", graph.node("Cast", features, to=1), to=DOUBLE)  # 1: FLOAT
    summed = trees.node(graph, as_float32, outputs)
    return graph.node("Div", summed, graph.constant(float(len(forest.estimators_))))


def _boosting(graph: Graph, boosting, features: str, problem: str) -> str:
    if problem == "regression" and boosting.loss != "squared_error":
        raise NotCompilable(f"HistGradientBoostingRegressor with loss={boosting.loss!r} (only squared_error here)")
    trees = _Trees()
    outputs = boosting.n_trees_per_iteration_
    for iteration in boosting._predictors:
        for target, predictor in enumerate(iteration):
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise NotCompilable("HistGradientBoosting with categorical splits")
            trees.add(nodes["feature_idx"], nodes["num_threshold"], nodes["left"], nodes["right"], nodes["is_leaf"],
                      nodes["missing_go_to_left"], nodes["value"], target)
    raw = graph.node("Add", trees.node(graph, features, outputs),
                     graph.constant(np.asarray(boosting._baseline_prediction, dtype=np.float64).reshape(1, -1)))
    if problem == "regression":
        return raw
    if outputs == 1:  # binary: the positive class's probability is the logistic of the raw score
        positive = graph.node("Sigmoid", raw)
        return graph.node("Concat", graph.node("Sub", graph.constant(1.0), positive), positive, axis=1)
    return graph.node("Softmax", raw, axis=1)
