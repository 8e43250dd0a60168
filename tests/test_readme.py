"""Every command in the README works as written.

Each ``digitlab`` line of the README's shell blocks is parsed by the real command line, with its
arguments' own checks (``--out`` folders, dataset names, numbers), without running it: a renamed
flag, a removed command or a bad value fails here. The set-up scripts and pip extras it names must
exist, and CI must run the README's test command. Running the commands themselves is what the
other tests do (tests/cli: train, predict, lab --quick, serve...).
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import typer

from digitlab.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(?:bash|sh)\n(.*?)```", README, flags=re.S)
LINES = [line.split("  #")[0].strip() for block in BLOCKS for line in block.splitlines() if line.strip() and not line.startswith("#")]
DIGITLAB = [line for line in LINES if re.match(r"(\.venv/bin/)?digitlab\b", line)]


def test_the_readme_names_its_commands():
    assert len(DIGITLAB) >= 6 and any("lab" in line for line in DIGITLAB) and any("serve" in line for line in DIGITLAB)
    quick_start = README.split("## For teachers")[0]
    assert "./scripts/lab.sh" in quick_start and "./scripts/test.sh" in quick_start  # the two set-up commands come first


@pytest.mark.parametrize("line", DIGITLAB)
def test_each_digitlab_command_parses(line, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --out and friends are checked against a folder that can be written
    words = shlex.split(line)[1:]
    command, names = _command(words)
    assert names, f"no such command: {line}"
    context = command.make_context(" ".join(["digitlab", *names]), words)  # parses and checks, runs nothing
    assert context.params is not None


@functools.cache
def _root():
    return typer.main.get_command(app)


def _command(words: list[str]):
    """The command the leading words name, and those words; unknown words stop the walk."""
    command, names = _root(), []
    while hasattr(command, "commands") and words and words[0] in command.commands:
        names.append(words[0])
        command = command.commands[words.pop(0)]
    return command, names


INLINE = sorted(set(re.findall(r"`(digitlab [^`]+)`", README)))


@pytest.mark.parametrize("span", INLINE)
def test_each_inline_command_and_its_flags_exist(span):
    """The commands table: `digitlab knn [--k 3 --weights distance]`: the command exists and takes every flag named."""
    for part in span.replace("\\|", " ").split(" / "):
        words = part.split()
        words = words[1:] if words[0] == "digitlab" else words
        command, names = _command([word for word in words if re.fullmatch(r"[a-z-]+", word)][:2])
        assert names, f"no such command: {part}"
        options = {"--help", *(name for param in command.params for name in getattr(param, "opts", []) + getattr(param, "secondary_opts", []))}
        flags = set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", part))
        assert flags <= options, f"{part}: {sorted(flags - options)}"


@pytest.mark.parametrize("line", [line for line in LINES if line.startswith("./scripts/")])
def test_the_setup_scripts_exist(line):
    script = ROOT / shlex.split(line)[0]
    assert script.is_file() and os.access(script, os.X_OK), script


def test_the_pip_extras_exist():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    named = re.findall(r'pip install -e "\.\[(\w+)\]"', README)
    assert named and set(named) <= set(extras)


def test_ci_runs_the_readme_test_command():
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_links_exist():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
