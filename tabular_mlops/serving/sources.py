"""Where a served model comes from, and loading it ready to answer: fetched, verified, warmed.

A `Source` is what `serve` was started with or what `POST /admin/swap` asks for: a bundle folder
(with the dvc.lock it is checked against, if any), or a registered stage or version of the model
artifact, which `tabular_mlops.registry.fetch` resolves with GTO and fetches with `dvc artifacts
get`, beside that commit's dvc.lock. `load` does the whole slow part (seconds: the fetch, the
unpickling, SHAP's start-up) so that the service can do it off the request path and then switch
with one reference assignment.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from tabular_mlops.deployment.artifact import Bundle, load_bundle
from tabular_mlops.deployment.explain import explanations
from tabular_mlops.errors import StageError

logger = logging.getLogger("tabular_mlops.serving")
KINDS = ("stage", "version", "model")  # the keys of a swap request, one of them


@dataclass(frozen=True)
class Source:
    model: str | None = None  # a bundle folder, absolute
    lock: str | None = None  # with `model`: the dvc.lock it is checked against, or None
    stage: str | None = None  # a registry stage (e.g. prod): the version it points at when loaded
    version: str | None = None  # a registered version (e.g. v1.2.0)
    repo: str = "."  # the git + DVC repository that holds the registry
    runtime: str = "auto"  # what answers: auto (the compiled model when the bundle has one) or scikit-learn

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def kind(self) -> str:
        """Which of KINDS names it: stage, version or model (a folder)."""
        return "stage" if self.stage is not None else "version" if self.version is not None else "model"

    def describe(self) -> str:
        return {"stage": f"stage {self.stage}", "version": f"version {self.version}", "model": f"folder {self.model}"}[self.kind]


@dataclass(frozen=True)
class Served:
    """One loaded model and what the service says about it; replaced whole on a swap."""
    bundle: Bundle
    registry: dict | None  # {artifact, version, stage, commit} when fetched from the registry
    explainer_error: str | None  # why ?explain=true is refused, or None


def default_lock(model: str, lock: str | None) -> str | None:
    """`lock` as given ('none': no check), else ./dvc.lock for a bundle inside the current folder when it exists."""
    if lock is not None:
        return None if lock == "none" else lock
    inside = Path(model).resolve().is_relative_to(Path.cwd().resolve())
    return "dvc.lock" if inside and Path("dvc.lock").is_file() else None


def source_of_request(body: object, repo: str) -> Source:
    """The Source a swap request names: {"stage": S}, {"version": V} or {"model": folder}. ValueError says what is wrong."""
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in KINDS:
        raise ValueError("the body must be a JSON object with one of stage, version or model")
    kind, value = next(iter(body.items()))
    if not isinstance(value, str) or not value:
        raise ValueError(f"{kind} must be a non-empty string")
    if kind == "model":
        folder = str(Path(value).resolve())
        lock = default_lock(folder, None)
        return Source(model=folder, lock=None if lock is None else str(Path(lock).resolve()), repo=repo)
    return Source(**{kind: value}, repo=repo)


def load(source: Source) -> Served:
    """Fetch (registry sources), verify (load_bundle: sha256, and md5 against the lock) and warm the
    explainer. Raises StageError, naming the file, when the bundle cannot be served."""
    registry = None
    directory, lock = source.model, source.lock
    if source.model is None:
        from tabular_mlops.registry.fetch import fetch

        registered = fetch(source.repo, stage=source.stage, version=source.version)
        directory, lock, registry = str(registered.directory), str(registered.lock), registered.describe()
    bundle = load_bundle(directory, lock, source.runtime)
    return Served(bundle, registry, warm_explainer(bundle))


def same_requests(served: Bundle, candidate: Bundle) -> None:
    """A swap keeps the request schema, /docs and the metrics: the candidate must take the same records."""
    for what, of in (("data contract", lambda bundle: bundle.manifest["contract"]),
                     ("input columns", lambda bundle: bundle.input_columns), ("problem", lambda bundle: bundle.problem)):
        if of(served) != of(candidate):
            raise StageError(f"{candidate.directory}: its {what} differs from the served model's; a swap keeps the "
                             "request schema, so restart serve with it instead")


def warm_explainer(bundle: Bundle) -> str | None:
    """Build the explainer and explain one background row (SHAP's import and numba compilation
    happen here, not in a request); why explanations are unavailable, or None."""
    try:
        background = bundle.explainer.background.head(1)
    except StageError as error:
        logger.warning("?explain=true will be refused: %s", error)
        return str(error).split(": ", 1)[-1]
    explanations(bundle, background, [None])
    return None
