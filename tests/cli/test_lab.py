"""`digitlab lab --quick` end to end on real MNIST, then the store it leaves behind."""

import csv
import json

import pytest

from digitlab.cli.main import main

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def quick_lab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab")
    url = f"sqlite:///{folder}/runs.db"
    argv = ["lab", "--quick", "--storage", url, "--out", str(folder)]
    return folder, url, argv


def test_quick_lab_runs_every_sweep_then_reuses_them(quick_lab, capsys):
    folder, url, argv = quick_lab
    assert main(argv) == 0
    first, log = capsys.readouterr()
    assert " of " in first and "runs to do" in first
    total = int(first.split(" of ")[1].split()[0])
    assert first.startswith("✓ mnist") or f"{total} of {total} runs to do" in first
    assert (folder / "reports" / "mnist" / "index.html").is_file()
    assert (folder / "models" / "quick" / "mnist-mlp-best" / "checkpoint.json").is_file()  # where `digitlab serve` looks
    progress_lines = [line for line in log.splitlines() if line.startswith("[") and " run " in line]
    assert len(progress_lines) == total and progress_lines[-1].startswith(f"[{total}/{total}] mnist: ")  # not a terminal: a line per run

    assert main(argv) == 0
    assert f"0 of {total} runs to do" in capsys.readouterr().out


def test_runs_commands_read_the_store(quick_lab, capsys, tmp_path):
    folder, url, _ = quick_lab
    assert main(["runs", "list", "--storage", url]) == 0
    listing = capsys.readouterr().out
    assert "simple-notebook@mnist" in listing and "knn@mnist" in listing

    assert main(["runs", "show", "1", "--storage", url]) == 0
    assert '"study"' in capsys.readouterr().out

    assert main(["runs", "compare", "1", "2", "--storage", url]) == 0
    assert "test_accuracy" in capsys.readouterr().out

    assert main(["runs", "export", "--storage", url, "-o", str(tmp_path / "runs.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "runs.csv").open()))
    assert rows and all(0 <= float(row["test_accuracy"]) <= 1 for row in rows)
    assert main(["runs", "export", "--storage", url, "-f", "json", "-o", str(tmp_path / "runs.json")]) == 0
    records = json.loads((tmp_path / "runs.json").read_text())
    assert len(records) == len(rows) and "history" in records[0]["result"]

    assert main(["runs", "show", "99999", "--storage", url]) == 1
    assert "no run with id 99999" in capsys.readouterr().err


def test_sweep_file_errors_are_clear(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 1
    assert "cannot read sweep file" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('[grid]\n"train_config.epochz" = [1]\n')
    assert main(["sweep", str(bad), "--storage", f"sqlite:///{tmp_path}/x.db"]) == 1
    assert "epochz" in capsys.readouterr().err
