"""Loading a model bundle only when it is the one the pipeline wrote, and scoring with it.

A pickle runs code when it is loaded, so the bytes are checked first: their sha256 against the
bundle's manifest and, inside the repository, their md5 against the one dvc.lock's train stage
recorded (a bundle left behind by an older run is stale). Nothing is unpickled before both pass.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from tabular_mlops.data.contract import Contract
from tabular_mlops.deployment.bundle import BACKGROUND_FILE, MANIFEST_FILE, MODEL_FILE
from tabular_mlops.errors import StageError
from tabular_mlops.files import sha256_of

TRAINED_MODEL = "models/model.joblib"  # as dvc.lock's train stage names it
UNSEEN = "unseen_categories"  # the scored table's column: per row, the columns with a category never seen


def join_unseen(flags: list[list[str]]) -> list[str]:
    """Per row, the unseen-category column names as the scored table writes them: joined by ';'."""
    return [";".join(columns) for columns in flags]


@dataclass(frozen=True)
class Bundle:
    model: object  # the fitted scikit-learn Pipeline: raw input columns -> prediction
    manifest: dict
    directory: Path
    warnings: tuple[str, ...] = field(default=())
    compiled: object | None = None  # a compiled.runtime.CompiledModel answering in the pipeline's place, or None

    @property
    def runtime(self) -> dict:
        """What answers: {"path": "onnxruntime" | "scikit-learn", "reason": why not compiled, or None}."""
        if self.compiled is not None:
            return {"path": "onnxruntime", "reason": None}
        compiled = self.manifest.get("compiled") or {}
        reason = compiled.get("reason") or ("the service was started with --runtime scikit-learn" if compiled.get("file")
                                            else "the bundle has no compiled model; rebuild it with `dvc repro bundle`")
        return {"path": "scikit-learn", "reason": reason}

    @property
    def version(self) -> str:
        """The model's identity: the first 12 hex digits of its sha256."""
        return self.manifest["model_sha256"][:12]

    @property
    def problem(self) -> str:
        """classification (binary), multiclass or regression."""
        metadata = self.manifest["model"]
        return "multiclass" if metadata.get("classes") else metadata["task"]

    @property
    def threshold(self) -> float | None:
        return self.manifest.get("threshold")

    @property
    def input_columns(self) -> list[str]:
        return list(self.manifest["model"]["input_columns"])

    @cached_property
    def contract(self) -> Contract:
        return Contract.model_validate(self.manifest["contract"])

    @cached_property
    def seen_categories(self) -> dict[str, set[str]]:
        """Per categorical input column, the categories the model saw in training."""
        from tabular_mlops.models.mitigation import pipeline_of

        transformer = pipeline_of(self.model).named_steps["preprocess"]
        for name, steps, columns in transformer.transformers_:
            if name == "categorical" and len(columns):
                encoder = steps.named_steps["one_hot"]
                return {column: {str(value) for value in values} for column, values in zip(columns, encoder.categories_)}
        return {}

    def unseen_categories(self, inputs: pd.DataFrame | list[dict]) -> list[list[str]]:
        """Per row, the columns holding a category the model never saw in training (missing values are not).
        `inputs`: a table, or the service's records."""
        # Plain Python over the values: a one-row request pays microseconds, not pandas' per-call milliseconds.
        flags = [[] for _ in range(len(inputs))]
        for column, seen in self.seen_categories.items():
            values = inputs[column].tolist() if isinstance(inputs, pd.DataFrame) else [record.get(column) for record in inputs]
            for position, value in enumerate(values):
                if value not in seen and not _missing(value) and str(value) not in seen:
                    flags[position].append(column)
        return flags

    @cached_property
    def explainer(self):
        """The SHAP explainer (tabular_mlops.explanations) of the model against the bundle's
        background rows, built once. StageError when the model cannot be explained: multiclass,
        a fairness-mitigated model (its decisions come from fairlearn's randomised mixture, which
        the unmitigated pipeline's contributions would not describe), or a bundle without a background."""
        from tabular_mlops.explanations.explainers import build_explainer
        from tabular_mlops.models.mitigation import is_mitigated

        if self.problem == "multiclass":
            raise StageError(f"{self.directory}: explanations are available for binary classification and regression, "
                             "not for this multiclass model")
        if is_mitigated(self.model):
            raise StageError(f"{self.directory}: explanations are not available for a fairness-mitigated model "
                             f"(train.fairness.mitigation: {self.manifest['model'].get('mitigation', {}).get('method')})")
        spec = self.manifest.get("background")
        if spec is None or not (self.directory / spec["file"]).is_file():
            raise StageError(f"{self.directory}: the bundle has no explanation background ({BACKGROUND_FILE}); "
                             "rebuild it with `dvc repro bundle`")
        background = pd.read_parquet(self.directory / spec["file"])
        return build_explainer(self.model, background, self.problem, int(spec["seed"]))

    @property
    def prediction_columns(self) -> list[str]:
        """The columns `predict` returns, in order."""
        if self.problem == "regression":
            return ["prediction"]
        if self.problem == "multiclass":
            return [f"probability:{label}" for label in self.manifest["model"]["classes"]] + ["decision"]
        return ["probability", "decision", *(["points"] if self.scorecard else [])]

    @property
    def scorecard(self) -> dict | None:
        """A binary model's scorecard ({points_to_double_odds, base_score, base_odds}), or None."""
        return self.manifest.get("scorecard")

    def unseen_groups(self, inputs: pd.DataFrame) -> list[dict]:
        """A model mitigated by group thresholds (threshold_optimizer) has none for a group it never
        saw: {row, field, rule} per such row, for a 422 or a rejects line."""
        mitigation = self.manifest["model"].get("mitigation", {})
        if not mitigation.get("requires_column"):
            return []
        from tabular_mlops.fairness.groups import group_labels

        column, seen = mitigation["column"], mitigation["groups_seen"]
        labels = group_labels(inputs[column], mitigation["bands"])
        rule = f"must be a group the fairness mitigation saw in training ({', '.join(seen)})"
        return [{"row": row, "field": column, "rule": rule} for row, label in enumerate(labels) if label not in seen]

    def scored(self, inputs: pd.DataFrame) -> pd.DataFrame:
        """The scored table's output columns for `inputs`: `predict`'s, then `unseen_categories`."""
        unseen = pd.Series(join_unseen(self.unseen_categories(inputs)), index=inputs.index, dtype="str")
        return self.predict(inputs).assign(**{UNSEEN: unseen})

    def predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        """Per row: `probability` and `decision` (binary: the positive class when the probability
        reaches the evaluated threshold), `probability:<class>` and `decision` (multiclass), or
        `prediction` (regression). `inputs`: the contract's input columns with its types."""
        from tabular_mlops.models.mitigation import decisions
        from tabular_mlops.models.scoring import predict  # scikit-learn's metrics: only when scoring

        frame = inputs[self.input_columns]
        if self.compiled is not None:
            return pd.DataFrame(self._outputs(self.compiled.predict(self.compiled.feeds_from_frame(frame))), index=inputs.index)
        prediction = predict(self.problem, self.model, frame)
        if self.problem == "regression":
            return pd.DataFrame({"prediction": prediction}, index=inputs.index)
        if self.problem == "multiclass":
            output = prediction.rename(columns=lambda label: f"probability:{label}")
            return output.assign(decision=prediction.idxmax(axis=1).astype(str))
        decision = np.where(decisions(self.model, frame, prediction, self.threshold) == 1, *self._labels)
        return pd.DataFrame({"probability": prediction, "decision": decision, **self._points(prediction)}, index=inputs.index)

    def _points(self, probability: np.ndarray) -> dict[str, np.ndarray]:
        if not self.scorecard:
            return {}
        from tabular_mlops.deployment.scorecard import scorecard_points

        return {"points": scorecard_points(probability, self.scorecard)}

    def predict_records(self, records: list[dict]) -> dict[str, list]:
        """`predict`'s columns as lists, from the service's records: with a compiled model no DataFrame is built."""
        if self.compiled is None:
            raise ValueError("predict_records needs a compiled model; score a DataFrame with predict")
        return {name: values.tolist() for name, values in self._outputs(self.compiled.predict(self.compiled.feeds_from_records(records))).items()}

    @cached_property
    def _labels(self) -> tuple[str, str]:
        """(positive, negative) class labels of a binary model."""
        metadata = self.manifest["model"]
        positive = metadata["positive_class"]
        return positive, next(label for label in self.contract.columns[metadata["target"]].categories if label != positive)

    def _outputs(self, computed: np.ndarray) -> dict[str, np.ndarray]:
        """`predict`'s columns from the compiled model's [rows, classes] probabilities or [rows, 1] values;
        decisions as scikit-learn's path makes them (the first most probable class; the threshold)."""
        if self.problem == "regression":
            return {"prediction": computed[:, 0]}
        if self.problem == "multiclass":
            classes = self.manifest["model"]["classes"]
            output = {f"probability:{label}": computed[:, position] for position, label in enumerate(classes)}
            return output | {"decision": np.asarray(classes, dtype=object)[np.argmax(computed, axis=1)]}
        probability = computed[:, 1]
        return {"probability": probability, "decision": np.where(probability >= self.threshold, *self._labels), **self._points(probability)}


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def load_bundle(directory: str | Path, lock: str | Path | None = None, runtime: str = "auto", threads: int = 1) -> Bundle:
    """The bundle at `directory`, verified; with `lock` (a dvc.lock), also not stale.

    `runtime` auto: its compiled model answers when the bundle has one (verified at bundle time,
    and its sha256 checked now); scikit-learn: the pipeline always. `threads`: the compiled
    model's (1 for a service; batch scoring may use more).
    Raises StageError with one line naming the file when anything does not match.
    """
    directory = Path(directory)
    manifest_path, model_path = directory / MANIFEST_FILE, directory / MODEL_FILE
    if not manifest_path.is_file() or not model_path.is_file():
        raise StageError(f"{directory}: not a model bundle (expected {MANIFEST_FILE} and {MODEL_FILE}); "
                         "`dvc repro` writes models/bundle, `dvc artifacts get` fetches one")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        expected = manifest["model_sha256"]
    except (ValueError, KeyError, TypeError):
        raise StageError(f"{manifest_path}: not a bundle manifest (expected JSON with model_sha256)") from None
    actual = sha256_of(model_path)
    if actual != expected:
        raise StageError(f"{model_path}: sha256 {actual[:12]} does not match {expected[:12]} in {manifest_path}: "
                         "the file changed after the pipeline wrote it; refusing to load it")
    if lock is not None:
        _refuse_stale(model_path, Path(lock))
    import joblib  # only now: unpickling runs code, so only verified bytes get here

    try:
        model = joblib.load(model_path)
    except ModuleNotFoundError as error:  # a family's optional package (e.g. lightgbm) is not installed here
        from tabular_mlops.families.registry import install_command

        package = (error.name or "").split(".")[0]
        raise StageError(f"{model_path}: the model needs the {package} package, which is not installed; "
                         f"install it with {install_command(package)}") from None
    compiled = _compiled(directory, manifest, threads) if runtime == "auto" else None
    return Bundle(model, manifest, directory, tuple(_library_warnings(manifest["model"].get("libraries", {}))), compiled)


def _compiled(directory: Path, manifest: dict, threads: int):
    """The bundle's compiled model, or None when it has none (the manifest says why)."""
    spec = manifest.get("compiled") or {}
    if not spec.get("file"):
        return None
    path = directory / spec["file"]
    if not path.is_file() or sha256_of(path) != spec.get("sha256"):
        raise StageError(f"{path}: missing, or its sha256 does not match {directory / MANIFEST_FILE}; "
                         "refusing to load it (rebuild the bundle, or serve with --runtime scikit-learn)")
    from tabular_mlops.compiled.runtime import CompiledModel

    compiled = CompiledModel(path.read_bytes(), threads)
    if compiled.compiled_from != manifest["model_sha256"]:
        raise StageError(f"{path}: compiled from another model ({compiled.compiled_from[:12] or 'unnamed'}, not {manifest['model_sha256'][:12]}); "
                         "refusing to serve it beside this one (rebuild the bundle, or serve with --runtime scikit-learn)")
    return compiled


def _refuse_stale(model_path: Path, lock: Path) -> None:
    try:
        stage = yaml.safe_load(lock.read_text(encoding="utf-8"))["stages"]["train"]
        recorded = next(out["md5"] for out in stage["outs"] if out["path"] == TRAINED_MODEL)
    except (OSError, yaml.YAMLError, KeyError, TypeError, StopIteration):
        raise StageError(f"{lock}: does not record {TRAINED_MODEL} in the train stage; run `dvc repro`") from None
    digest = hashlib.md5(model_path.read_bytes()).hexdigest()
    if digest != recorded:
        raise StageError(f"{model_path}: stale: its md5 {digest[:12]} is not the model {lock} records ({recorded[:12]}); "
                         "run `dvc repro` (or `dvc checkout`) so the bundle matches the pipeline")


def _library_warnings(trained_with: dict[str, str]) -> list[str]:
    warnings = []
    for name, trained in sorted(trained_with.items()):
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != trained:
            warnings.append(f"{name} {trained} trained the model but {installed} is installed: its predictions may differ")
    return warnings
