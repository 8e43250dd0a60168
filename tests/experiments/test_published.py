"""Published numbers name a command; where a benchmark produced the number, the command is the benchmark's run."""

import importlib.util
import json
import shlex
import sys
from pathlib import Path

import pytest

from digitlab.cli import train as train_cli
from digitlab.cli.main import main
from digitlab.course.facts import PUBLISHED_TRAIN_LOGS  # the benchmark runs behind the published training figures
from digitlab.experiments.spec import resolve

ROOT = Path(__file__).resolve().parents[2]
# The command README/docs give for the 3-block augmented CNN (benchmarks/RESULTS.md, robustness: 99.60 ± 0.02%).
THREE_BLOCK_COMMAND = ("train --model cnn --channels 32,64,128 --kernel-size 3 --padding same --hidden-sizes 128 --dropout 0.25 "
                       "--augment shift,rotate,scale --augment-max-shift 3 --epochs 12 --batch-size 128 --lr 0.005 --warmup 0.3 "
                       "--schedule onecycle --label-smoothing 0.1")

AUGMENTED_COMMAND = "digitlab train --model cnn --augmented"  # the augmented preset (RESULTS.md, time to accuracy: 99.63%)


def benchmark(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def command_spec(command: str, tmp_path: Path, monkeypatch) -> dict:
    """The spec `digitlab COMMAND` resolves to, without training (the run itself is what is replaced)."""
    seen = []
    monkeypatch.setattr(train_cli, "_run_training", lambda spec, *args: seen.append(spec))
    assert main([*shlex.split(command), "--device", "cpu", "--out", str(tmp_path / "run")]) == 0
    return seen[0].to_dict()


def test_the_documented_three_block_command_is_the_benchmarks_run(tmp_path, monkeypatch):
    robustness = benchmark("robustness")
    setting = next(s for s in robustness.SETTINGS if s.label == "CNN, 3 blocks, + augmentation")
    benchmarked = resolve(setting.config.with_params({"seed": 0}), "cpu").to_dict()
    assert command_spec(THREE_BLOCK_COMMAND, tmp_path, monkeypatch) == benchmarked
    for document in ("README.md", "docs/results.md", "docs/robustness.md"):
        text = (ROOT / document).read_text(encoding="utf-8")
        commands = (f"digitlab {THREE_BLOCK_COMMAND}", AUGMENTED_COMMAND)  # the two networks published at 99.6%
        assert "99.6" not in text or any(command in text for command in commands), document


@pytest.mark.parametrize(("command", "setup"), [("train --model mlp", "mlp"), ("train --model cnn", "cnn"),
                                                ("train --model cnn --augmented", "cnn-augmented"),
                                                ("train --model simple --notebook-faithful", "simple-notebook")])
def test_readme_train_commands_are_the_train_benchmarks_runs(tmp_path, monkeypatch, command, setup):
    train = benchmark("train")
    config = next(s.config for s in train.SETUPS if s.key == setup)
    assert command_spec(command, tmp_path, monkeypatch) == resolve(config.with_params({"seed": 0}), "cpu").to_dict()




def as_resolved_today(stored: dict) -> dict:
    """A stored spec with the settings added since (at their defaults, which keep old behaviour) filled in."""
    from dataclasses import asdict

    from digitlab.experiments.spec import RunSpec, plain
    from digitlab.models.registry import make_config
    from digitlab.training import TrainConfig

    spec = RunSpec.from_dict(stored).to_dict()
    spec["train_config"] = TrainConfig.from_dict(spec["train_config"]).to_dict()
    if spec["model"]:
        spec["model_config"] = plain(asdict(make_config(spec["model"], **spec["model_config"])))
    return spec


@pytest.mark.parametrize("log", PUBLISHED_TRAIN_LOGS)
def test_published_training_figures_were_measured_with_todays_settings(log):
    """A preset changed after a figure was measured makes the published command run something else: this fails
    until the benchmark is run again and its log replaced (the figure then is what the command gives)."""
    train = benchmark("train")
    setups = {setup.key: setup for setup in train.SETUPS}
    runs = json.loads((ROOT / "benchmarks" / "logs" / log).read_text(encoding="utf-8"))["runs"]
    assert runs
    for measured in runs:
        setup = setups[measured["setup"]]
        today = resolve(setup.config.with_params({"seed": measured["seed"]}), "cpu").to_dict()
        stored = as_resolved_today(measured["spec"])
        if setup.race_against:  # trained for the seconds another setup took on that machine: not a setting
            stored["train_config"]["time_budget"] = today["train_config"]["time_budget"]
        assert stored == today, f"{log}: {measured['setup']} seed {measured['seed']} ran other settings than today's"


def test_the_three_block_rows_measured_spec_is_what_its_setting_runs_today():
    robustness = benchmark("robustness")
    settings = {setting.label: setting for setting in robustness.SETTINGS}
    runs = json.loads((ROOT / "benchmarks" / "logs" / "robustness-avx2-cnn3-aug-seed0.json").read_text(encoding="utf-8"))["runs"]
    assert runs
    for measured in runs:
        setting = settings[measured["setting"]]
        changes = {"seed": measured["seed"], "robustness": ",".join(robustness.TRANSFORMS)}  # as run_setting asks
        today = resolve(setting.config.with_params(changes), "cpu").to_dict()
        assert as_resolved_today(measured["spec"]) == today, measured["setting"]
