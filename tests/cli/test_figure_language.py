"""Every command that writes figures draws them in one language: the dataset's (Dutch for the course's
datasets) or --lang's, class names included; the CLI's own printed text stays English."""

from __future__ import annotations

import dataclasses
import re

import pytest
from matplotlib.figure import Figure

from digitlab.cli.main import main
from digitlab.datasets import catalog
from digitlab.inference import save_checkpoint
from digitlab.models import build
from tests.i18n.words import problems, texts
from tests.specs import run_spec
from tests.training.synthetic import CLASSES, write_synthetic

FASHION = "fashion-mnist"  # a course dataset whose class names are words, so their language shows
DUTCH_NAMES = ("T-shirt/topje", "Broek", "Trui", "Jurk")  # the nl catalog's first four Fashion-MNIST classes
HISTORY = [{"epoch": epoch, "train_loss": 1.5 / epoch, "train_accuracy": 0.5 + epoch / 10, "val_accuracy": 0.55 + epoch / 10,
            "test_accuracy": 0.6 + epoch / 10} for epoch in (1, 2)]


@pytest.fixture
def fashion(tmp_path, monkeypatch):
    """Generated images registered as Fashion-MNIST with its first four (English) class names; Dutch by default."""
    spec = write_synthetic(tmp_path / "data", n_train=120, n_test=40, name=FASHION)
    spec = dataclasses.replace(spec, classes=catalog.CATALOG[FASHION].classes[:len(CLASSES)], report_language="nl")
    monkeypatch.setitem(catalog.CATALOG, FASHION, spec)
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DIGITLAB_CACHE_DIR", str(tmp_path / "cache"))
    return spec


@pytest.fixture
def drawn(monkeypatch):
    """The texts of every figure a command saves, per figure, as it is written."""
    found: list[list[str]] = []
    save = Figure.savefig

    def recording(figure, *args, **kwargs):  # noqa: ANN001, ANN202 (matplotlib's own signature)
        found.append(texts(figure))
        return save(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording)
    return found


def checkpoint(folder, spec):
    save_checkpoint(folder, model := build("mlp", hidden_sizes=[8], num_classes=len(spec.classes)), run_spec(model, FASHION), classes=spec.classes,
                    history=HISTORY)
    return str(folder)


def commands(tmp_path, spec) -> dict[str, list[str]]:
    """Each figure-writing command in its quickest form."""
    model = checkpoint(tmp_path / "mlp", spec)
    knn = ["--train-limit", "60", "--test-limit", "20"]
    return {
        "data show": ["data", "show", "-d", FASHION, "--out", str(tmp_path / "explore")],
        "robustness": ["robustness", model, "-d", FASHION, "--transforms", "shift,noise", "--test-limit", "20",
                       "--out", str(tmp_path / "robustness")],
        "evaluate": ["evaluate", model, "--test-limit", "20", "--out", str(tmp_path / "evaluation")],
        "knn": ["knn", "-d", FASHION, "--k", "3", *knn, "--out", str(tmp_path / "knn")],
        "knn tune": ["knn", "tune", "-d", FASHION, "--ks", "1,3", "--weights", "uniform", "--metrics", "euclidean", "--pcas", "0",
                     "--deskew", "no", "--validation-size", "20", *knn, "--out", str(tmp_path / "knn")],
        "knn scaling": ["knn", "scaling", "-d", FASHION, "--sizes", "30,60", "--image-sides", "", "--test-limit", "10",
                        "--repeats", "1", "--out", str(tmp_path / "knn")],
    }


def run_all(tmp_path, spec, drawn, extra: list[str]) -> dict[str, list[str]]:
    """Each command's figure texts, joined per figure."""
    by_command = {}
    for name, argv in commands(tmp_path, spec).items():
        before = len(drawn)
        assert main([*argv, *extra]) == 0, name
        by_command[name] = [" | ".join(figure) for figure in drawn[before:]]
        assert by_command[name], f"{name} wrote no figure"
    return by_command


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_figure_writing_command_draws_in_one_language(tmp_path, fashion, drawn, capsys, lang):
    # Dutch is Fashion-MNIST's own language, so it is what a command draws without --lang.
    figures = run_all(tmp_path, fashion, drawn, [] if lang == "nl" else ["--lang", lang])
    found = {name: [problems(text, lang) for text in texts_ if problems(text, lang)] for name, texts_ in figures.items()}
    assert not {name: issue for name, issue in found.items() if issue}, found
    everything = " ".join(text for texts_ in figures.values() for text in texts_)
    names = DUTCH_NAMES if lang == "nl" else fashion.classes
    other = fashion.classes if lang == "nl" else DUTCH_NAMES
    assert all(name in everything for name in names), names  # class names in the figures' language ...
    assert not [name for name in set(other) - set(names) if re.search(rf"{re.escape(name)}(?!\w)", everything)]  # ... never the other's
    assert "wrote" in capsys.readouterr().out  # the CLI itself stays English


def test_a_wrong_lang_is_one_clear_error(tmp_path, fashion, capsys):
    assert main(["data", "show", "-d", FASHION, "--lang", "fr", "--out", str(tmp_path)]) != 0
    assert "'fr' is not one of nl, en" in capsys.readouterr().err
