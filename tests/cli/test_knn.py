"""``digitlab knn``, ``knn tune`` and ``knn scaling``, run as a user would (through main())."""

import csv
import json

import pytest

from digitlab.cli.main import main


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A generated 3-class dataset registered as "mnist", with enough images for k-NN to learn."""
    from digitlab.datasets import catalog
    from tests.conftest import make_tiny_dataset

    tiny = make_tiny_dataset(n_train=90, n_test=30, seed=1)
    monkeypatch.setitem(catalog.CATALOG, "mnist", tiny.spec)
    folder = tiny.write(tmp_path / "data")
    return ["--data-dir", str(folder), "--cache-dir", str(tmp_path / "cache")]


def test_help_lists_the_subcommands(capsys):
    assert main(["knn", "--help"]) == 0
    assert main(["knn", "tune", "--help"]) == 0
    assert main(["knn", "scaling", "--help"]) == 0
    output = capsys.readouterr().out
    assert "tune" in output and "scaling" in output and "--deskew" in output and "--folds" in output


def test_one_evaluation_prints_accuracy_and_writes_the_confusion_matrix(tmp_path, tiny_mnist, capsys):
    out = tmp_path / "out"
    assert main(["knn", "--k", "3", "--weights", "distance", "--pca", "5", "--deskew", "--out", str(out), *tiny_mnist]) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "predict s" in printed and "k=3 distance euclidean deskew pca=5" in printed  # the steps in pipeline order
    stem = "k3-distance-euclidean-deskew-pca5"
    rows = list(csv.reader((out / f"confusion-{stem}.csv").open()))
    assert rows[0][0] == "true \\ predicted" and len(rows) == 4  # header + 3 classes
    assert sum(int(count) for row in rows[1:] for count in row[1:]) == 30
    assert (out / f"confusion-{stem}.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((out / f"result-{stem}.json").read_text())
    assert summary["n_test"] == 30 and summary["config"]["pca"] == 5


def test_tune_and_scaling_quick_runs(tmp_path, tiny_mnist, capsys):
    out = tmp_path / "out"
    assert main(["knn", "tune", "--ks", "1-3", "--pcas", "0,4", "--validation-size", "20", "--out", str(out), *tiny_mnist]) == 0
    printed = capsys.readouterr().out
    assert "val accuracy" in printed and "evaluated once on test" in printed
    with (out / "tune.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3 * 2 * 2 * 2 * 2  # k x weights x metrics x pca x deskew
    assert (out / "tune-accuracy-vs-k.png").exists() and (out / "tune-accuracy-vs-time.png").exists()
    assert main(["knn", "scaling", "--sizes", "30,60,90", "--image-sides", "28,42", "--test-limit", "10", "--repeats", "1",
                 "--out", str(out), *tiny_mnist]) == 0
    printed = capsys.readouterr().out
    assert "per 1000 training images" in printed and "per 1000 pixels" in printed
    assert "1920x1080" in printed or "too noisy" in printed  # tiny timings may not give a positive slope
    assert (out / "scaling-train-size.png").exists() and (out / "scaling-pixels.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["knn", "--k", "500"], "larger than the 90 training images"),
    (["knn", "tune", "--ks", "a-b"], "expected numbers"),
    (["knn", "tune", "--metrics", "hamming"], "choose from"),
    (["knn", "tune", "--deskew", "maybe"], "both, yes or no"),
    (["knn", "tune", "--validation-size", "90"], "below the 90 training images"),
])
def test_bad_arguments_exit_with_a_clear_message(tiny_mnist, capsys, argv, message):
    assert main([*argv, *tiny_mnist]) != 0
    assert message in capsys.readouterr().err.replace("\n", " ")


@pytest.mark.realdata
def test_real_mnist_quick_tune(tmp_path, capsys):
    assert main(["knn", "tune", "--quick", "--out", str(tmp_path)]) == 0
    assert "Best setting" in capsys.readouterr().out


@pytest.mark.parametrize("kernel", ["int8", "float32", "pruned"])
def test_kernel_option_forces_the_kernel_and_keeps_the_accuracy(tmp_path, tiny_mnist, capsys, monkeypatch, kernel):
    from digitlab.knn import choice

    monkeypatch.setattr(choice, "_choices", {})
    monkeypatch.setenv(choice.PROBE_CACHE_ENV, "0")
    try:
        assert main(["knn", "--kernel", kernel, "--out", str(tmp_path / kernel), *tiny_mnist]) == 0
        assert {picked.kernel for picked in choice.choices()} == {kernel}
    finally:
        choice.set_kernel(None)
    accuracy = json.loads(next((tmp_path / kernel).glob("result-*.json")).read_text())["accuracy"]
    assert main(["knn", "--kernel", "auto", "--out", str(tmp_path / "auto"), *tiny_mnist]) == 0
    assert json.loads(next((tmp_path / "auto").glob("result-*.json")).read_text())["accuracy"] == accuracy
    assert main(["knn", "--kernel", "int4", *tiny_mnist]) == 2  # typer names the choices


def test_tune_tries_the_distortion_rerank_and_knn_runs_it(tmp_path, tiny_mnist, capsys):
    out = tmp_path / "out"
    assert main(["knn", "tune", "--ks", "1-3", "--pcas", "4", "--deskew", "yes", "--metrics", "euclidean", "--distortions", "0,1",
                 "--candidates", "2,6", "--validation-size", "20", "--out", str(out), *tiny_mnist]) == 0
    assert "IDM r / M" in capsys.readouterr().out
    with (out / "tune.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    # k 1-3 x 2 weightings without the rerank; with it, k <= M: 2 x 2 (M=2) + 3 x 2 (M=6)
    assert sorted((row["distortion"], row["candidates"]) for row in rows).count(("1", "2")) == 4 and len(rows) == 6 + 4 + 6
    assert main(["knn", "--k", "3", "--deskew", "--pca", "4", "--distortion", "1", "--candidates", "6", "--out", str(out), *tiny_mnist]) == 0
    assert "idm r=1 M=6" in capsys.readouterr().out


def test_without_options_the_knn_is_the_one_default_configuration(tmp_path, tiny_mnist, monkeypatch):
    """`digitlab knn` fits KNNPipelineConfig() itself: serve, explain and robustness fit the same k-NN."""
    from digitlab.cli import knn as knn_cli
    from digitlab.knn.pipeline import KNNPipelineConfig

    fitted = []
    monkeypatch.setattr(knn_cli, "_evaluate", lambda config, *args, **kwargs: fitted.append(config) or {})
    monkeypatch.setattr(knn_cli, "_print_evaluation", lambda *args, **kwargs: None)
    monkeypatch.setattr(knn_cli, "_write_confusion", lambda *args, **kwargs: None)
    assert main(["knn", "--out", str(tmp_path / "out"), *tiny_mnist]) == 0
    assert fitted == [KNNPipelineConfig()]
