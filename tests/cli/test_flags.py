"""The command line agrees with itself: one meaning per flag name, defaults in every --help, shared text written once."""

from __future__ import annotations

import pytest
import typer

from digitlab.cli.main import app, main
from tests.cli.helpers import flat

SOURCES_PARAGRAPH = "Sources, in order"  # the long --data-dir story: told once, in `digitlab data fetch --help`


def _commands(group, path: tuple[str, ...] = ()):
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


COMMANDS = [(path, command) for path, command in _commands(typer.main.get_command(app)) if path]


def _options():
    for path, command in COMMANDS:
        for param in command.params:
            if param.param_type_name == "option":
                yield path, param


def test_one_meaning_per_flag_name():
    meanings: dict[str, set] = {}
    for path, option in _options():
        for name in option.opts:
            meanings.setdefault(name, set()).add((option.name, option.is_flag))
        if "--out" in option.opts:
            assert "-o" in option.opts, path
    assert meanings["-m"] == {("model", False)}  # never --models
    assert {flag for _, flag in meanings["--knn"]} == {True}  # a switch everywhere; the k-NN's dataset is --dataset
    assert meanings["--limit"] == {("limit", False)}
    limits = [option.help for _, option in _options() if "--limit" in option.opts]
    assert limits and all("training and N test" in text for text in limits)  # one split only: --train-limit / --test-limit


OTHER_AREAS = ("check", "notebook")  # the grader's and the editions' own commands


@pytest.mark.parametrize("command", [" ".join(path) for path, command in COMMANDS if not getattr(command, "commands", None)])
def test_every_help_tells_the_sources_once(command, capsys):
    assert main([*command.split(), "--help"]) == 0
    assert (SOURCES_PARAGRAPH in flat(capsys.readouterr().out)) == (command == "data fetch")


def test_every_option_shows_its_default():
    missing = []
    for path, command in COMMANDS:
        context = command.context_class(command)
        for option in command.params:
            if option.param_type_name != "option" or option.required or path[0] in OTHER_AREAS:
                continue
            record = option.get_help_record(context)
            is_switch = option.is_flag and not option.default  # --quick: off unless given
            if record is not None and not is_switch and "default" not in record[1]:
                missing.append(f"{' '.join(path)} {option.opts[-1]}")
    assert missing == []


def test_train_help_names_the_presets_values(capsys):
    assert main(["train", "--help"]) == 0
    text = flat(capsys.readouterr().out)
    for option in ("--epochs", "--lr", "--batch-size", "--label-smoothing"):
        after = text.split(option, 1)[1].split(" --", 1)[0]
        assert "[default: (simple" in after or "[default: (" in after, option
    assert "mlp 0.1, cnn 0.1" in text  # label smoothing is on for mlp and cnn, and says so

