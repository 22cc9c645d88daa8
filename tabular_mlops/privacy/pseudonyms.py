"""Keyed pseudonyms: what the prediction log and batch scoring keep in place of a personal value.

A pseudonym is the HMAC-SHA256 of the value under a secret key. The same key gives the same
pseudonym, so a person's records can be found (and erased) from their value; a plain hash would
let anyone who reads the log test a guessed email address, the key does not. The key comes from
`$TABULAR_MLOPS_PSEUDONYM_KEY`, else from the file `serve.key_file` (32 random bytes, mode 0600,
created on first use). Losing the key loses the way back from a value to its records; anyone who
holds it can test guesses, so it stays out of git, DVC and backups of the log.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import stat
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd

from tabular_mlops.errors import StageError

KEY_VARIABLE = "TABULAR_MLOPS_PSEUDONYM_KEY"
DEFAULT_KEY_FILE = "logs/pseudonym.key"
KEY_BYTES = 32


def normalise(value: object) -> str:
    """The text that is hashed: str(value) stripped; a whole float as an integer, since the
    contract holds integer columns as float64 (123.0 and 123 are one person); a datetime in ISO 8601."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime):
        value = value.isoformat()
    return str(value).strip()


def pseudonym(value: object, key: bytes) -> str:
    """64 hex digits: HMAC-SHA256(key, normalise(value))."""
    return hmac.new(key, normalise(value).encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonyms(values: list, key: bytes) -> list[str | None]:
    """Per value its pseudonym; a missing value (None or NaN) stays missing: it is nobody."""
    return [None if _missing(value) else pseudonym(value, key) for value in values]


def split_personal(records: list[dict], personal: list[str], key: bytes | None) -> tuple[list[dict], list[dict[str, str]]]:
    """(the records without their personal fields, per record {column: pseudonym} of those given)."""
    if not personal:
        return records, [{} for _ in records]
    if key is None:
        raise ValueError(f"personal columns {personal} need a pseudonym key")
    kept = [{name: value for name, value in record.items() if name not in personal} for record in records]
    subjects = [{name: pseudonym(record[name], key) for name in personal if not _missing(record.get(name))} for record in records]
    return kept, subjects


def pseudonymise(frame: pd.DataFrame, columns: list[str], key: bytes | None) -> pd.DataFrame:
    """`frame` with each of `columns` replaced by its values' pseudonyms (text; missing stays missing)."""
    if not columns:
        return frame
    if key is None:
        raise ValueError(f"personal columns {columns} need a pseudonym key")
    return frame.assign(**{name: pd.Series(pseudonyms(frame[name].tolist(), key), index=frame.index, dtype="str") for name in columns})


def pseudonym_key(key_file: str | Path = DEFAULT_KEY_FILE, create: bool = True) -> bytes:
    """The key: $TABULAR_MLOPS_PSEUDONYM_KEY (at least 32 characters), else the key file's 32
    bytes, written first when `create` and there is none. The file is created whole or not at all
    (written aside, then linked into place), so workers starting at once agree on one key."""
    from_environment = os.environ.get(KEY_VARIABLE)
    if from_environment is not None:
        if len(from_environment.encode("utf-8")) < KEY_BYTES:
            raise StageError(f"${KEY_VARIABLE}: a pseudonym key must hold at least {KEY_BYTES} characters, "
                             f"e.g. `openssl rand -hex 32`; it holds {len(from_environment)}")
        return from_environment.encode("utf-8")
    path = Path(key_file)
    if not path.exists():
        if not create:
            raise StageError(f"{path}: no pseudonym key (serve.key_file, or ${KEY_VARIABLE}); the log's pseudonyms were "
                             "made with a key, and without it no value can be matched to them")
        _create_key(path)
    return _read_key(path)


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(os.urandom(KEY_BYTES))
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:  # another worker was first: its key is the key
            pass
    finally:
        os.unlink(aside)


def _read_key(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise StageError(f"{path}: the pseudonym key is readable by other users (mode {mode:04o}), who could test guessed "
                         f"values against the log; `chmod 600 {path}`")
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise StageError(f"{path}: a pseudonym key file must hold {KEY_BYTES} bytes; it holds {len(key)}")
    return key


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)
