"""Compile a fitted model pipeline to ONNX, and check the result against scikit-learn.

`compile_pipeline` turns the saved pipeline (preprocess, then model) into one ONNX graph;
`verify` runs it with onnxruntime on rows (the bundle stage's: the test split) beside
scikit-learn and says whether it may serve in the pipeline's place. Either refuses with one
line (NotCompilable), and the bundle is then served by scikit-learn, saying so.
"""
from __future__ import annotations

import json

import numpy as np
import onnx
import pandas as pd

from tabular_mlops.compiled.estimators import estimator_nodes
from tabular_mlops.compiled.graph import Graph, NotCompilable
from tabular_mlops.compiled.preprocessing import preprocessing_nodes
from tabular_mlops.compiled.runtime import LAYOUT_KEY, SOURCE_KEY, CompiledModel

BOUND = 1e-6  # how far a compiled probability (or value, relative to max(1, |value|)) may be from scikit-learn's


def compile_pipeline(model, problem: str, model_sha256: str = "") -> onnx.ModelProto:
    """The fitted pipeline as one graph: inputs by preprocessing branch, output [rows, classes] or [rows, 1].
    `model_sha256`, the pickle's, goes into the graph's metadata: a graph is served only beside its own model."""
    from tabular_mlops.models.mitigation import is_mitigated

    if is_mitigated(model):
        raise NotCompilable("a fairness-mitigated model decides by fairlearn's randomised rule, which has no ONNX form")
    steps = getattr(model, "named_steps", {})
    if set(steps) != {"preprocess", "model"}:
        raise NotCompilable(f"{type(model).__name__} is not the preprocess + model pipeline")
    graph = Graph()
    features, layout = preprocessing_nodes(graph, steps["preprocess"])
    columns = len(steps["preprocess"].get_feature_names_out())
    output = estimator_nodes(graph, steps["model"], features, columns, problem)
    classes = 1 if problem == "regression" else len(steps["model"].classes_)
    return graph.model(output, classes, {LAYOUT_KEY: json.dumps(layout), SOURCE_KEY: model_sha256})


def verify(compiled: CompiledModel, model, problem: str, inputs: pd.DataFrame, threshold: float | None) -> dict:
    """The compiled model beside scikit-learn on `inputs`: the largest difference and the decisions that
    differ. Raises NotCompilable when it is beyond BOUND, or a decision differs on a row the bound does
    not explain (a probability within BOUND of the threshold)."""
    from tabular_mlops.models.scoring import predict

    expected = predict(problem, model, inputs)
    expected = np.asarray(expected, dtype=np.float64).reshape(len(inputs), -1)
    actual = compiled.predict(compiled.feeds_from_frame(inputs))
    if problem == "classification":
        actual = actual[:, 1:]
    scale = np.maximum(1.0, np.abs(expected)) if problem == "regression" else 1.0
    difference = float(np.max(np.abs(actual - expected) / scale)) if len(inputs) else 0.0
    checked = {"rows": len(inputs), "max_abs_difference": difference, "bound": BOUND, "runtime": compiled.runtime}
    if not difference <= BOUND:  # NaN fails too
        raise NotCompilable(f"its predictions differ from scikit-learn's by up to {difference:.3g} on the test split (bound {BOUND:g})")
    if problem == "classification" and threshold is not None:
        differing = (actual[:, 0] >= threshold) != (expected[:, 0] >= threshold)
        near = np.abs(expected[:, 0] - threshold) <= BOUND
        if (differing & ~near).any():
            raise NotCompilable(f"{int((differing & ~near).sum())} decisions differ from scikit-learn's on rows away from the threshold")
        checked.update(decisions_differing=int(differing.sum()), rows_near_threshold=int(near.sum()))
    elif problem == "multiclass":
        checked["decisions_differing"] = int((actual.argmax(axis=1) != expected.argmax(axis=1)).sum())
    return checked


def compiled_for_bundle(model, problem: str, inputs: pd.DataFrame, threshold: float | None, model_sha256: str) -> tuple[bytes | None, dict]:
    """(the ONNX bytes, the manifest's `compiled` section), or (None, {"file": None, "reason": ...})
    when the pipeline cannot be compiled or the compiled model fails `verify` on `inputs`."""
    try:
        model_bytes = compile_pipeline(model, problem, model_sha256).SerializeToString()
        checked = verify(CompiledModel(model_bytes), model, problem, inputs, threshold)
    except NotCompilable as error:
        return None, {"file": None, "reason": str(error)}
    return model_bytes, {"verification": checked}
