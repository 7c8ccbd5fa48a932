"""What a new user reads first: each command's --help, and the fixes errors suggest."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from digitnet.interfaces.cli import build_parser, main

COMMANDS = ["train", "evaluate", "predict", "explore", "download", "show", "report", "serve",
            "recipes"]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_describes_itself_and_shows_an_example_that_parses(command):
    shown = run_cli(command, "--help")
    assert shown.returncode == 0
    usage, description = shown.stdout.split("\n\n")[:2]
    assert usage.startswith(f"usage: digitnet {command}")
    assert len(description.split()) >= 8 and not description.lstrip().startswith("positional")
    example = re.search(r"^example: (digitnet .+)$", shown.stdout, re.MULTILINE)
    assert example, shown.stdout
    words = shlex.split(example.group(1))
    assert words[:2] == ["digitnet", command]
    args = build_parser().parse_args(words[1:])  # the example is a command that parses
    assert args.command_parser.prog == f"digitnet {command}"


def test_the_serve_extra_hint_is_a_command_that_works_from_here(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the extra were not installed
    assert main(["serve"]) == 2
    line = capsys.readouterr().err.strip()
    found = re.search(r'python -m pip install "([^"]+)\[serve\]" \(this checkout\)', line)
    # A clone, installed or run from: its own path, which pip installs from.
    assert found, line
    project = (Path(found.group(1)) / "pyproject.toml").read_text()  # tomllib: Python 3.11+
    extras = project[project.index("[project.optional-dependencies]") :]
    assert re.search(r"^serve = \[", extras, re.MULTILINE)
    assert 'pip install "digitnet[serve]" once digitnet is on an index' in line
    helped = run_cli("serve", "--help")
    assert f'python -m pip install "{found.group(1)}[serve]"' in " ".join(helped.stdout.split())


def test_train_from_python_is_quiet_with_verbose_false(capsys):
    import digitnet

    model = digitnet.train("fast", epochs=1, dev_size=100, verbose=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert model.history["epoch"] == [1]  # the curve is kept all the same
    digitnet.train("fast", epochs=1, dev_size=100, progress=False)
    assert "epoch    1/1" in capsys.readouterr().out  # verbose by default, as documented


def test_download_sample_says_it_is_bundled():
    shown = run_cli("download", "sample")
    assert shown.returncode == 0 and "nothing to download" in shown.stdout
    assert "bundled MNIST sample (5000 images) comes with digitnet" in shown.stdout


def test_recipes_shows_one_table_at_a_time():
    shown = run_cli("recipes", "--knobs", "--layers")
    assert shown.returncode == 2 and "not allowed with argument" in shown.stderr
