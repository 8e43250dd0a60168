"""A run describes itself: the report and `runs show` read its settings from the stored spec, not from today's presets."""

import json
from dataclasses import replace

from digitlab import presets
from digitlab.cli.main import main
from digitlab.experiments import ExperimentConfig, SweepSpec, open_storage, run_grid
from digitlab.experiments.runner import run
from digitlab.experiments.spec import resolve
from digitlab.report import render_report
from tests.report.fakes import tiny_dataset


def test_the_report_shows_what_ran_after_a_preset_changes(tmp_path, monkeypatch, capsys):
    data = tiny_dataset("mnist")
    url = f"sqlite:///{tmp_path}/runs.db"
    sweep = SweepSpec("mlp-best", ExperimentConfig(model="mlp", model_config={"hidden_sizes": [16]}, validation_size=20), {"seed": [0]})
    [stored] = run_grid(sweep, open_storage(url), lambda config, report: run(resolve(config, "cpu"), dataset=data, report=report))
    ran = presets.recommended("mlp")
    assert stored.spec.train_config == ran and len(stored.result["history"]) == ran.epochs

    changed = replace(ran, epochs=ran.epochs + 3, batch_size=ran.batch_size // 2, augment="rotate")
    monkeypatch.setitem(presets.PRESETS, ("mlp", presets.ANY_DATASET, "recommended"), presets.Preset(changed))  # a later version tunes the preset
    html = render_report(open_storage(url), data)
    assert f"784-16-10, {ran.epochs} epochs, batch size {ran.batch_size}" in html
    assert f"{changed.epochs} epochs" not in html and "+ augmentation" not in html
    assert main(["runs", "show", str(stored.id), "--storage", url]) == 0
    shown, _ = json.JSONDecoder().raw_decode(capsys.readouterr().out)  # the JSON record, then the history table
    assert shown["spec"]["train_config"]["batch_size"] == ran.batch_size and shown["spec"]["model_config"]["hidden_sizes"] == [16]
