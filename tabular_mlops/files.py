"""Reading YAML mappings with clear errors; writing outputs atomically, so a crash leaves the
old file or the new one, never half of one."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import joblib
import yaml

from tabular_mlops.errors import StageError


def read_yaml_mapping(path: str | Path, expected: str, missing_hint: str = "",
                      text_where: Callable[[tuple], bool] = lambda where: False) -> dict:
    """A YAML file that must hold a mapping; `expected` says what the mapping should contain.

    YAML 1.1 (PyYAML) reads a plain yes/no/on/off/y/n/true/false as a boolean, but a user who
    writes `positive_class: yes` means the label, and DVC (YAML 1.2) writes `-S key=yes` back
    unquoted. So a boolean keeps the text as written where `text_where(path)` says a string
    is expected (path: the keys and list indexes leading to it), and in mapping keys (names).
    """
    path = Path(path)
    try:
        loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            raw = None if node is None else _construct(loader, node, (), text_where)
        finally:
            loader.dispose()
    except FileNotFoundError:
        raise StageError(f"{path}: file not found{missing_hint}") from None
    except yaml.YAMLError as error:
        raise StageError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    if not isinstance(raw, dict):
        raise StageError(f"{path}: expected a mapping of {expected}; the file holds {type(raw).__name__}")
    return raw


_BOOL_TAG = "tag:yaml.org,2002:bool"


def _construct(loader: yaml.SafeLoader, node: yaml.Node, where: tuple, text_where: Callable[[tuple], bool]) -> Any:
    """PyYAML's own construction, except a plain boolean scalar where text is expected."""
    if isinstance(node, yaml.ScalarNode):
        as_written = node.tag == _BOOL_TAG and node.style is None and text_where(where)
        return node.value if as_written else loader.construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*where, index), text_where) for index, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # `<<` merge keys, as SafeLoader does
        mapping = {}
        for key_node, value_node in node.value:
            key = _construct(loader, key_node, (), lambda where: True)
            mapping[key] = _construct(loader, value_node, (*where, key), text_where)
        return mapping
    return loader.construct_object(node, deep=True)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; it replaces `path` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600; outputs get the usual mode
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_json(path: str | Path, payload: Any) -> None:
    """Sorted keys and a trailing newline, so the same payload always gives the same bytes."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_json_folder(folder: str | Path, payloads: dict[str, Any]) -> None:
    """Write each {file name: payload} into `folder` (as write_json does), and remove the folder's
    other .json files: rows of a previous run (another task, another table) must not linger."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in payloads.items():
        write_json(folder / name, payload)
    for stale in sorted(folder.glob("*.json")):
        if stale.name not in payloads:
            stale.unlink()


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def dump_joblib(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as temporary:
        joblib.dump(obj, temporary)


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
