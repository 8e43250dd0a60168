"""``digitlab explain CHECKPOINT... IMAGE``: what each model looks at for one image, as a PNG panel per model.

A photo or drawing goes through the web app's preprocessing (digitlab.preprocess, as each model's
dataset prepares it); ``--test-index N`` explains test image N instead. ``--knn`` adds a k-NN fitted
on the training images of ``--dataset``, shown with its nearest neighbours and their votes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.table import Table

from digitlab.cli.common import DatasetName, LangOption, console, dataset_option, out_option, save_figure, under
from digitlab.datasets import DEFAULT_DATASET, load
from digitlab.errors import DigitlabError
from digitlab.i18n import dataset_language, speaking
from digitlab.knn.pipeline import QUICK_TRAIN_LIMIT, KNNPipelineConfig

TOP = 3  # classes printed per model


def prepared_image(path: Path, dataset: str) -> torch.Tensor:
    """A picture file -> (H, W) uint8 prepared like ``dataset``'s images (the web app's preprocessing)."""
    from digitlab.preprocess import prepare_for, read_image_file

    try:
        return torch.from_numpy(prepare_for(read_image_file(path), dataset).image)
    except DigitlabError as error:
        raise DigitlabError(f"{path}: {error}") from error


def test_image(dataset: str, index: int) -> tuple[torch.Tensor, int]:
    test = load(dataset).test
    if not 0 <= index < len(test):
        raise DigitlabError(f"--test-index {index} is outside {dataset}'s test set (0..{len(test) - 1})")
    return test.images[index], int(test.labels[index])


def split_paths(paths: list[Path], test_index: int | None) -> tuple[list[Path], Path | None]:
    """CHECKPOINT... IMAGE, or only checkpoints with --test-index."""
    if test_index is not None:
        return paths, None
    if len(paths) < 2:
        raise DigitlabError("give one or more checkpoint folders and then an image file (or --test-index N instead of the image)")
    return paths[:-1], paths[-1]


def explain(
    paths: Annotated[list[Path], typer.Argument(help="Checkpoint folders (digitlab train), then the image file (PNG, JPEG, ...).")],
    out: Annotated[Path, out_option("Folder for the PNG panels.")] = under("explanations"),
    knn: Annotated[bool, typer.Option("--knn", help=f"Also explain the default k-NN ({KNNPipelineConfig().label()}) fitted on --dataset's "
                                      "training images.")] = False,
    dataset: Annotated[DatasetName | None, dataset_option("The k-NN's dataset, and the test set of --test-index "
                                                          "[default: the first checkpoint's, else mnist].")] = None,
    knn_train_limit: Annotated[int, typer.Option(min=1, help="Fit the k-NN on the first N training images.")] = QUICK_TRAIN_LIMIT,
    test_index: Annotated[int | None, typer.Option(help="Explain this test-set image instead of an image file.",
                                                   show_default="none: the image file")] = None,
    thorough: Annotated[bool, typer.Option(help="All attribution methods (integrated gradients, occlusion too): slower.")] = False,
    lang: LangOption = None,
) -> None:
    """Explain each model's answer for one image: class scores, attribution maps, weights or feature maps, neighbours."""
    from digitlab.explain import FAST_METHODS, METHODS, explain_knn, explain_network, explainable_knn
    from digitlab.explain.figures import knn_figure, network_figure
    from digitlab.inference import load_network

    checkpoints, image_path = split_paths(paths, test_index)
    knn_dataset = dataset.value if dataset else _first_dataset(checkpoints)
    language = dataset_language(knn_dataset, lang)  # the pictures' words; the printed table stays English like the CLI
    table = Table("model", "predicted", "probability", f"top {TOP}", title=str(image_path or f"test image {test_index}"))

    def image_for(name: str) -> torch.Tensor:
        return test_image(name, test_index)[0] if image_path is None else prepared_image(image_path, name)

    for path in checkpoints:
        saved = load_network(path)
        trained_on = saved.dataset or DEFAULT_DATASET  # checkpoints without a dataset are MNIST runs
        found = explain_network(saved.model, image_for(trained_on), classes=saved.classes or None, methods=METHODS if thorough else FAST_METHODS)
        with speaking(language):
            written = save_figure(network_figure(found, f"{path.name} ({saved.model_name})"), out / f"{path.name}.png")
        table.add_row(path.name, *_ranked(found.scores.top(TOP)))
        console.print(f"wrote {written}", highlight=False)
    if knn:
        data = load(knn_dataset).limit(train=knn_train_limit)
        fitted = explainable_knn(data.train.images, data.train.labels, classes=data.classes)
        image = image_for(knn_dataset)
        votes = explain_knn(fitted, image)
        name = f"knn-{knn_dataset}"
        with speaking(language) as tr:
            title = f"{name} (k={fitted.config.n_neighbors}, {tr(f'value.{fitted.config.weights}')})"
            written = save_figure(knn_figure(image, votes, title), out / f"{name}.png")
        shares = votes.probabilities
        table.add_row(name, *_ranked([(votes.classes[i], float(shares[i])) for i in shares.argsort()[::-1][:TOP]]))
        console.print(f"wrote {written}", highlight=False)
    if test_index is not None:
        table.caption = f"true class: {load(knn_dataset).classes[test_image(knn_dataset, test_index)[1]]}"
    console.print(table)


def _ranked(top: list[tuple[str, float]]) -> tuple[str, str, str]:
    return top[0][0], f"{top[0][1]:.1%}", ", ".join(f"{name} {p:.1%}" for name, p in top)


def _first_dataset(checkpoints: list[Path]) -> str:
    from digitlab.inference import load_network

    return (load_network(checkpoints[0]).dataset or DEFAULT_DATASET) if checkpoints else DEFAULT_DATASET
