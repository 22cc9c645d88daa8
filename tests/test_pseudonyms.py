"""Keyed pseudonyms of personal values, and the key they are made with."""
from __future__ import annotations

import hashlib
import hmac
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabular_mlops.errors import StageError
from tabular_mlops.privacy.pseudonyms import KEY_VARIABLE, pseudonym, pseudonym_key, pseudonymise, split_personal

KEY, OTHER_KEY = b"k" * 32, b"o" * 32


@pytest.fixture(autouse=True)
def no_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)


def test_a_pseudonym_is_the_hmac_sha256_of_the_stripped_text_under_the_key() -> None:
    expected = hmac.new(KEY, b"ann@example.org", hashlib.sha256).hexdigest()  # the standard library's, by hand
    assert pseudonym(" ann@example.org\n", KEY) == pseudonym("ann@example.org", KEY) == expected
    assert pseudonym("ann@example.org", OTHER_KEY) != expected  # without the key, a guess cannot be tested
    assert pseudonym(123, KEY) == pseudonym(123.0, KEY) == pseudonym("123", KEY)  # integer columns are held as float64
    assert pseudonym(12.5, KEY) == pseudonym("12.5", KEY)


def test_missing_values_stay_missing_and_the_other_fields_are_kept() -> None:
    records = [{"Income": 1, "Email": "ann@example.org", "Name": None}, {"Income": 2, "Email": None}]
    kept, subjects = split_personal(records, ["Email", "Name"], KEY)
    assert kept == [{"Income": 1}, {"Income": 2}]
    assert subjects == [{"Email": pseudonym("ann@example.org", KEY)}, {}]
    assert split_personal(records, [], None) == (records, [{}, {}])
    frame = pd.DataFrame({"Email": ["ann@example.org", None, np.nan], "Income": [1, 2, 3]})
    hashed = pseudonymise(frame, ["Email"], KEY)
    assert hashed.loc[0, "Email"] == pseudonym("ann@example.org", KEY) and hashed["Email"].isna().tolist() == [False, True, True]
    assert hashed["Income"].tolist() == [1, 2, 3] and frame.loc[0, "Email"] == "ann@example.org"  # a copy


def test_the_key_file_is_made_once_with_32_random_bytes_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "pseudonym.key"
    key = pseudonym_key(path)
    assert len(key) == 32 and path.read_bytes() == key and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pseudonym_key(path) == key  # the same key next time: the same pseudonyms
    assert pseudonym_key(tmp_path / "another.key") != key
    assert sorted(item.name for item in path.parent.iterdir()) == ["pseudonym.key"]  # nothing left aside


def test_workers_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    path, keys = tmp_path / "pseudonym.key", []
    threads = [threading.Thread(target=lambda: keys.append(pseudonym_key(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1


def test_the_variable_is_the_key_and_a_short_one_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "a" * 64)
    assert pseudonym_key(tmp_path / "pseudonym.key") == b"a" * 64 and not (tmp_path / "pseudonym.key").exists()
    monkeypatch.setenv(KEY_VARIABLE, "short")
    with pytest.raises(StageError, match=rf"^\${KEY_VARIABLE}: a pseudonym key must hold at least 32 characters.*it holds 5$"):
        pseudonym_key(tmp_path / "pseudonym.key")


def test_a_key_file_others_can_read_or_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pseudonym.key"
    path.write_bytes(os.urandom(32))
    path.chmod(0o644)
    with pytest.raises(StageError, match=r"pseudonym.key: the pseudonym key is readable by other users \(mode 0644\).*chmod 600"):
        pseudonym_key(path)
    path.chmod(0o600)
    path.write_bytes(b"short")
    with pytest.raises(StageError, match=r"pseudonym.key: a pseudonym key file must hold 32 bytes; it holds 5$"):
        pseudonym_key(path)


def test_without_create_a_missing_key_is_refused_not_made(tmp_path: Path) -> None:
    with pytest.raises(StageError, match=r"missing.key: no pseudonym key \(serve.key_file"):
        pseudonym_key(tmp_path / "missing.key", create=False)
    assert not (tmp_path / "missing.key").exists()
