"""The `tabular-mlops` command: every subcommand has --help; expected failures are one line, exit 2."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tabular_mlops.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", ["contract", "sweep", "review", "serve", "synth", "erase"])
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: tabular-mlops {command}" in capsys.readouterr().out


def test_the_installed_console_script_lists_the_commands() -> None:
    script = shutil.which("tabular-mlops", path=str(Path(sys.executable).parent))
    assert script, "pip install -e . installs the tabular-mlops console script beside python"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    assert all(command in result.stdout for command in ("contract", "sweep", "review", "erase"))


def test_contract_refuses_to_overwrite_without_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    for name in ("params.yaml", "data/contract.yaml", "data/raw/credit.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "data/contract.yaml").read_bytes()
    assert main(["contract"]) == 2
    error = capsys.readouterr().err
    assert error.strip() == "error: data/contract.yaml: contract exists (data.contract); pass --force to overwrite it"
    assert (tmp_path / "data/contract.yaml").read_bytes() == before


def test_contract_with_force_drafts_the_contract_of_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    for name in ("params.yaml", "data/raw/credit.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert main(["contract", "--force"]) == 0
    assert "wrote data/contract.yaml: 14 columns, target 'Status'" in capsys.readouterr().out
    assert "Status:" in (tmp_path / "data/contract.yaml").read_text()


def test_an_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["deploy"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'deploy'" in capsys.readouterr().err
