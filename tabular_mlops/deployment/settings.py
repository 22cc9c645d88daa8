"""Where `serve` (and `score`, `erase` and `export-labels`, which must find the same log and key) take their settings.

Each setting comes from its flag, else its environment variable, else params.yaml's `serve:`
block when params.yaml is in the current folder (a project), else the built-in default. A
deployed host has no params.yaml: flags and variables configure it, and `serve` says on its
first line which source each setting came from.
"""
from __future__ import annotations

import os
from pathlib import Path

from tabular_mlops.errors import StageError, whole_number

VARIABLES = {
    "model": "TABULAR_MLOPS_MODEL",
    "host": "TABULAR_MLOPS_HOST",
    "port": "TABULAR_MLOPS_PORT",
    "workers": "TABULAR_MLOPS_WORKERS",
    "log": "TABULAR_MLOPS_PREDICTION_LOG",
    "max_body_bytes": "TABULAR_MLOPS_MAX_BODY_BYTES",
    "max_rows": "TABULAR_MLOPS_MAX_ROWS",
    "key_file": "TABULAR_MLOPS_PSEUDONYM_KEY_FILE",
    "runtime": "TABULAR_MLOPS_RUNTIME",
}
BUILT_IN = {"model": "models/bundle", "host": "127.0.0.1", "port": 8000, "workers": 1, "log": "logs/predictions.sqlite",
            "max_body_bytes": 1_000_000, "max_rows": 10_000, "key_file": "logs/pseudonym.key",
            "runtime": "auto"}
NUMBERS = {"port": (1, 65535), "workers": (1, None), "max_body_bytes": (1, None), "max_rows": (1, None)}
# auto: the bundle's compiled model (model.onnx) answers when it has one; scikit-learn: the pickled pipeline always
RUNTIMES = ("auto", "scikit-learn")
IN_PARAMS = ("log", "max_body_bytes", "max_rows", "key_file")  # the keys of params.yaml's serve: block


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def resolve(flags: dict[str, object | None], names: tuple[str, ...] = tuple(VARIABLES)) -> tuple[dict, dict[str, str]]:
    """({setting: value}, {setting: where it came from}) for `names`; `flags` holds None for a flag not given."""
    from tabular_mlops.config.params import PARAMS_FILE

    params: dict | None = None  # read only when a setting needs it
    values, sources = {}, {}
    for name in names:
        if flags.get(name) is not None:
            values[name], sources[name] = flags[name], flag(name)
        elif os.environ.get(VARIABLES[name]):
            values[name], sources[name] = os.environ[VARIABLES[name]], VARIABLES[name]
        elif name in IN_PARAMS and Path(PARAMS_FILE).is_file():
            params = _params_serve() if params is None else params
            values[name], sources[name] = params[name], "params.yaml"
        else:
            values[name], sources[name] = BUILT_IN[name], "built in"
        if name in NUMBERS:
            values[name] = whole_number(values[name], sources[name], *NUMBERS[name])
        if name == "runtime" and values[name] not in RUNTIMES:
            raise StageError(f"{sources[name]}: the runtime must be {' or '.join(RUNTIMES)}; got {values[name]!r}")
    if "log" in values and "key_file" in values and Path(values["log"]) == Path(values["key_file"]):
        raise StageError(f"the pseudonym key file must be a file of its own, not the prediction log; "
                         f"got '{values['log']}' for both ({sources['log']}, {sources['key_file']})")
    return values, sources


def source_line(sources: dict[str, str]) -> str:
    """Which setting came from where, e.g. `settings: --port from flags; serve.log from ./params.yaml; host built in`."""
    flags = [source for source in sources.values() if source.startswith("--")]
    variables = [source for source in sources.values() if source in VARIABLES.values()]
    from_params = [f"serve.{name}" for name, source in sources.items() if source == "params.yaml"]
    from tabular_mlops.config.params import PARAMS_FILE

    built_in = [name for name, source in sources.items() if source == "built in"]
    parts = []
    if flags:
        parts.append(f"{', '.join(flags)} from flags")
    if variables:
        parts.append(f"{', '.join(variables)} from the environment")
    if from_params:
        parts.append(f"{', '.join(from_params)} from ./params.yaml")
    if built_in:
        parts.append(f"{', '.join(built_in)} built in" + ("" if Path(PARAMS_FILE).is_file() else " (no params.yaml in this folder)"))
    return "settings: " + "; ".join(parts)


def _params_serve() -> dict:
    """The serve: block, the whole params.yaml validated (a project with a broken params.yaml is refused)."""
    from tabular_mlops.config.params import load_params

    return load_params().serve.model_dump()
