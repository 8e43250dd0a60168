"""Two `digitlab sweep` worker processes share one study on a real PostgreSQL server."""

import json
import os
import subprocess
import sys

import pytest

from digitlab.experiments import list_runs, open_storage

pytestmark = pytest.mark.realdata  # the workers train on (a small slice of) real MNIST

SWEEP = """
name = "pg-workers"
[base]
model = "simple"
train_limit = 600
test_limit = 200
validation_size = 100
[base.train_config]
epochs = 1
[grid]
"train_config.batch_size" = [16, 32, 64, 128]
seed = [0, 1]
"""


def test_two_workers_share_the_grid_without_duplicates(tmp_path, postgres_url):
    sweep_file = tmp_path / "pg.toml"
    sweep_file.write_text(SWEEP)
    command = [sys.executable, "-m", "digitlab", "sweep", str(sweep_file), "--storage", postgres_url]
    environment = {**os.environ, "COLUMNS": "200"}
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment) for _ in range(2)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    runs = list_runs(open_storage(postgres_url))
    assert len(runs) == 8
    assert len({json.dumps(run.params, sort_keys=True) for run in runs}) == 8
    assert all(0 < run.metrics["test_accuracy"] <= 1 for run in runs)
    # Each worker's summary lists the runs finished when it stopped (the other may still have been busy).
    assert all(" of 8 runs" in out for out, _ in outputs)


def test_bad_storage_url_is_a_clear_error(capsys):
    from digitlab.cli.main import main

    assert main(["runs", "list", "--storage", "postgresql+psycopg://nobody@127.0.0.1:1/none"]) == 1
    assert "cannot open the results store" in capsys.readouterr().err
