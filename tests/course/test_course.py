"""digitlab.course: a run per call, the student's results table checked against runs it can repeat, placeholders.

On a small generated dataset standing in for MNIST (ten bright bars, one per class), so each run takes
milliseconds; the notebook's own cells are run in tests/notebooks/test_student_edition.py.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import digitlab.course.runs as runs
from digitlab.course import checks
from digitlab.course.experiments import EXPERIMENTS
from digitlab.course.placeholder import filled_in, is_placeholder, todo
from digitlab.course.table import TableError, rows_of, show_table
from digitlab.datasets import Dataset, Split


def bars(count: int, seed: int) -> Split:
    """Class c is a bright horizontal bar at row 2c + 4, with noise: learnable in one epoch."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (count,), generator=generator)
    images = torch.randint(0, 60, (count, 28, 28), generator=generator, dtype=torch.uint8)
    for index, label in enumerate(labels.tolist()):
        images[index, 2 * label + 4, 4:24] = 255
    return Split(images, labels)


@pytest.fixture(autouse=True)
def course(monkeypatch):
    """The course's datasets replaced by bars, and an empty run log."""
    data = {name: Dataset(name, tuple(map(str, range(10))), bars(1_200, 0), bars(200, 1)) for name in ("mnist", "fashion-mnist")}
    monkeypatch.setattr(runs, "_DATA", data)
    monkeypatch.setattr(runs, "_LOG", [])
    monkeypatch.setattr(runs, "KNN_TRAIN", 600)
    monkeypatch.setattr(runs, "KNN_VALIDATION", 200)
    monkeypatch.setattr(runs, "QUICK_KNN_VALIDATION", 200)
    return data


class Simple(nn.Module):
    def __init__(self, hidden: int | None = None):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(784, 10)) if hidden is None else \
            nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    def forward(self, x):
        return self.layers(x)


def test_a_run_starts_from_fresh_weights_so_a_setting_gives_the_same_accuracy_twice():
    model = Simple()
    first = runs.train_and_score(model, epochs=1, batch_size=64)
    second = runs.train_and_score(model, epochs=1, batch_size=64)  # the same, already trained, network: reset first
    accuracy, seconds = first
    assert accuracy == second.accuracy and 0.5 < accuracy <= 1 and seconds > 0
    assert first.settings["layers"] == (784, 10) and first.settings["parameters"] == 7_850
    assert runs.run_log() == [first, second]
    assert runs.run_again(first) == accuracy


def test_the_table_accepts_scores_dicts_percentages_and_a_dict_of_runs():
    score = runs.train_and_score(Simple(), epochs=1, batch_size=128)
    as_dict = {"epochs": 1, "batch_size": 128, "accuracy": round(score.accuracy * 100, 1)}
    rows = rows_of([score, as_dict])
    assert rows[0]["accuracy"] == score.accuracy and rows[1]["accuracy"] == pytest.approx(score.accuracy, abs=5e-4)
    assert rows_of({"a": score}) == rows_of([score])
    assert "batch_size" not in show_table([score]) and "%" in show_table([score])
    for bad, message in [([{"epochs": 1}], "geen accuracy"), ([3], "rij 1"), (5, "lijst"), ([{"accuracy": "hoog"}], "geen getal")]:
        with pytest.raises(TableError, match=message):
            rows_of(bad)


def _table(spec: str, namespace: dict) -> checks.Verdict:
    return checks.verdict(spec, namespace)


def test_opdracht_1_passes_with_own_runs_and_fails_each_typical_mistake_with_a_hint():
    table = [runs.train_and_score(Simple(), epochs=epochs, batch_size=batch) for epochs in (1, 2) for batch in (128, 256)]
    passed = _table("opdracht-1-runs", {"resultaten_1": table})
    assert passed.status == "passed" and "opnieuw gedraaid" in passed.message
    # unusual but correct: dicts with the accuracy as a rounded percentage
    own = [{"epochs": s.settings["epochs"], "batch_size": s.settings["batch_size"], "accuracy": round(100 * s.accuracy, 1)} for s in table]
    assert _table("opdracht-1-runs", {"resultaten_1": own}).status == "passed"
    assert _table("opdracht-1-runs", {}).status == "open" and "nog niet ingevuld" in _table("opdracht-1-runs", {}).message
    assert "batch sizes" in _table("opdracht-1-runs", {"resultaten_1": table[::2]}).message  # one batch size only
    typed = [*table[:3], {"epochs": 2, "batch_size": 256, "accuracy": 0.5}]
    assert "geen enkele run" in _table("opdracht-1-runs", {"resultaten_1": typed}).message
    knn_rows = [runs.knn_and_score(k=k) for k in (1, 3)]
    assert "train_and_score" in _table("opdracht-1-runs", {"resultaten_1": knn_rows}).message


def test_a_forged_run_log_is_caught_by_running_the_row_again():
    table = [runs.train_and_score(Simple(), epochs=epochs, batch_size=batch) for epochs, batch in ((1, 128), (1, 256), (2, 128))]
    forged = runs.Score(0.42, 1.0, dict(table[0].settings))  # the settings of a real run, an accuracy it never had
    runs._LOG.append(runs._Logged(forged, runs._LOG[0].start))
    verdict = _table("opdracht-1-runs", {"resultaten_1": [forged, *table[1:]]})
    assert verdict.status == "failed" and "opnieuw gedraaid" in verdict.message


def test_opdracht_2b_3b_and_fashion_ask_for_their_own_settings():
    assert "neuronen" in _table("opdracht-2b-runs", {"resultaten_2b": [runs.train_and_score(Simple(16), epochs=1, batch_size=128)]}).message
    two = [runs.train_and_score(Simple(hidden), epochs=1, batch_size=128) for hidden in (16, 64)]
    assert _table("opdracht-2b-runs", {"resultaten_2b": two}).status == "passed"
    grid = [runs.knn_and_score(k=k, metric=metric) for k in (1, 3) for metric in ("euclidean", "cosine")]
    assert _table("opdracht-3b-runs", {"resultaten_3b": [*grid, runs.knn_and_score(k=1, on="test")]}).status == "passed"
    on_test = [runs.knn_and_score(k=k, metric=metric, on="test") for k in (1, 3) for metric in ("euclidean", "cosine")]
    assert "validatieset" in _table("opdracht-3b-runs", {"resultaten_3b": on_test}).message
    assert "afstandsfuncties" in _table("opdracht-3b-runs", {"resultaten_3b": grid[::2]}).message
    assert "fashion-mnist" in _table("fashion-runs", {"resultaten_fashion": [two[0], grid[0]]}).message  # runs on MNIST
    fashion = runs.course_data("fashion-mnist")
    mixed = [runs.train_and_score(Simple(), epochs=1, batch_size=128, data=fashion), runs.knn_and_score(k=3, data=fashion)]
    assert _table("fashion-runs", {"resultaten_fashion": mixed}).status == "passed"
    assert set(EXPERIMENTS) <= set(checks.CHECKS)


def test_check_prints_a_pass_and_an_open_assignment_and_raises_a_dutch_hint(capsys):
    notebook = {"check": checks.check, "resultaten_1": [runs.train_and_score(Simple(), epochs=1, batch_size=128)]}
    with pytest.raises(checks.CheckFailed, match="epochs"):
        exec('check("opdracht-1-runs")', notebook)  # a check cell: it reads the notebook's names
    exec('check("knn")', notebook)  # no y_pred: open, not a NameError
    assert "nog niet ingevuld: y_pred" in capsys.readouterr().out


def test_todo_lets_a_cell_run_and_marks_what_is_still_open(capsys):
    class Open(nn.Module):
        todo()

    def train_epoch():
        todo()

    def written():
        return 1

    assert is_placeholder(Open) and is_placeholder(train_epoch) and not is_placeholder(written)
    with pytest.raises(NotImplementedError, match="train_epoch"):
        train_epoch()
    namespace = {"Open": Open, "written": written}
    assert checks.code_checks.simple_network({"SimpleNetwork": Open}).status == "open"
    assert exec("ok = filled_in('written')", {"filled_in": filled_in, **namespace}) is None
    exec("result = filled_in('Open', 'nope')", scope := {"filled_in": filled_in, **namespace})
    assert scope["result"] is False and "Open, nope zijn nog niet ingevuld" in capsys.readouterr().out


def test_the_graders_judge_verifies_a_table_with_what_the_sandbox_never_sees(course, monkeypatch):
    """The grader's half (digitlab.notebooks.checks.experiments): runs scored in the sandbox against all-zero
    test labels, verified by the judge against the real ones and by k-NN computed again on its own data."""
    from types import SimpleNamespace

    from digitlab.notebooks.checks import CHECKS
    from digitlab.notebooks.checks.contract import Truth

    monkeypatch.setenv("DIGITLAB_NOTEBOOK_QUICK", "1")
    real = course["mnist"]
    sandbox = Dataset("mnist", real.classes, real.train, Split(real.test.images, torch.zeros_like(real.test.labels)))
    runs._DATA["mnist"] = sandbox  # what the sandbox serves: test labels 0
    truth = Truth(real.train.images.numpy(), real.train.labels.numpy(), real.test.images.numpy(), real.test.labels.numpy())
    kit = SimpleNamespace(test_images=real.test.images)

    def graded(assignment, table):
        check = CHECKS[assignment]
        return check.judge(check.extract({EXPERIMENTS[assignment].table: table}, kit), truth)

    table = [runs.train_and_score(Simple(), epochs=epochs, batch_size=batch) for epochs, batch in ((1, 128), (1, 256), (2, 128))]
    assert graded("opdracht-1-runs", table).status == "passed"
    import dataclasses
    forged = [dataclasses.replace(run, accuracy=0.99) for run in table]
    assert graded("opdracht-1-runs", forged).saw == "experiment.rerun"
    typed = [{"epochs": 1, "batch_size": 64, "accuracy": 0.9}, {"epochs": 2, "batch_size": 128, "accuracy": 0.95}]
    assert graded("opdracht-1-runs", typed).saw == "experiment.no-run"
    assert graded("opdracht-1-runs", table[:1]).hint == "experiment.vary-epochs"
    assert graded("opdracht-1-runs", []).status == "not answered"
    grid = [runs.knn_and_score(k=k, metric=metric) for k in (1, 3) for metric in ("euclidean", "cosine")]
    assert graded("opdracht-3b-runs", [*grid, runs.knn_and_score(k=3, on="test")]).status == "passed"
    lied = [{**run.row(), "accuracy": 0.5} for run in grid]
    assert graded("opdracht-3b-runs", lied).saw == "experiment.rerun"
    assert graded("opdracht-3b-runs", [runs.knn_and_score(k=k, on="test") for k in (1, 3)]).hint == "experiment.on-test"
