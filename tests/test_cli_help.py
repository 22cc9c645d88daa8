"""`tabular-mlops ... --help` is written for users: what the command does, examples that parse, the
environment variables it reads; never a source file or an internal constant."""
from __future__ import annotations

import argparse
import re
import shlex

import pytest

from tabular_mlops import cli

# An upper-case name with an underscore: a constant (IDLE_SECONDS) or an environment variable.
UPPER_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command and subcommand, by its words: {(): root, ('serve',): ..., ('debug', 'stage-server'): ...}."""
    found = {path: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.update(commands(child, (*path, name)))
    return found


COMMANDS = commands(cli.parser())


def help_text(words: tuple[str, ...], capsys: pytest.CaptureFixture) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main([*words, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def section(text: str, title: str) -> list[str]:
    """The indented lines under `title:` up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(f"{title}:") + 1
    end = next((number for number in range(start, len(lines)) if not lines[number].strip()), len(lines))
    return lines[start:end]


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: " ".join(words) or "tabular-mlops")
def test_help_names_no_source_file_and_no_constant_only_the_variables_it_lists(words: tuple[str, ...],
                                                                               capsys: pytest.CaptureFixture) -> None:
    text = help_text(words, capsys)
    assert ".py" not in text and "uvicorn" not in text and "factory" not in text
    listed = {line.split()[0] for line in section(text, "environment variables")} if words else set()
    assert set(UPPER_NAME.findall(text)) <= listed, f"upper-case names that are not listed variables: {set(UPPER_NAME.findall(text)) - listed}"


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: " ".join(words) or "tabular-mlops")
def test_help_has_examples_that_the_parser_accepts(words: tuple[str, ...], capsys: pytest.CaptureFixture) -> None:
    examples = section(help_text(words, capsys), "examples")
    assert examples, "no example"
    for example in examples:
        parts = shlex.split(example)
        while "=" in parts[0]:  # VARIABLE=value before the command
            parts.pop(0)
        assert parts[0] == "tabular-mlops" and tuple(parts[1:len(words) + 1]) == words, example
        cli.parser().parse_args(parts[1:])  # argparse exits 2 on an example that does not parse


def test_serve_help_lists_every_endpoint_and_every_variable_it_reads(capsys: pytest.CaptureFixture) -> None:
    from tabular_mlops.deployment.settings import VARIABLES
    from tabular_mlops.privacy.pseudonyms import KEY_VARIABLE
    from tabular_mlops.serving.telemetry import API_KEY_VARIABLE, PATHS

    text = help_text(("serve",), capsys)
    assert all(re.search(rf"(GET|POST) +{re.escape(path)} ", text) for path in PATHS - {"/openapi.json"}), text
    listed = {line.split()[0] for line in section(text, "environment variables")}
    assert listed >= {API_KEY_VARIABLE, KEY_VARIABLE, *VARIABLES.values()}


def test_erase_and_score_help_list_the_variables_that_find_the_log_the_key_and_the_runtime(capsys: pytest.CaptureFixture) -> None:
    erase = {line.split()[0] for line in section(help_text(("erase",), capsys), "environment variables")}
    score = {line.split()[0] for line in section(help_text(("score",), capsys), "environment variables")}
    assert erase == {"TABULAR_MLOPS_PSEUDONYM_KEY", "TABULAR_MLOPS_PSEUDONYM_KEY_FILE", "TABULAR_MLOPS_PREDICTION_LOG"}
    assert score == {"TABULAR_MLOPS_PSEUDONYM_KEY", "TABULAR_MLOPS_PSEUDONYM_KEY_FILE", "TABULAR_MLOPS_RUNTIME"}
