"""The checks of the code the student writes: SimpleNetwork, the training loop, ComplexNetwork and k-NN.

Each takes the notebook's names and tests behaviour with its own code and data (its own loss, optimiser,
a network of its own for the training loop, scikit-learn for k-NN); what it reports is Dutch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy
import torch
from sklearn.neighbors import KNeighborsClassifier
from torch import nn

from digitlab.course.experiments import Verdict
from digitlab.course.facts import NUMBERS
from digitlab.course.placeholder import missing
from digitlab.course.runs import course_data
from digitlab.datasets import to_features
from digitlab.evaluation import accuracy
from digitlab.knn import flatten_images
from digitlab.presets import preset

SIMPLE_PARAMETERS = 784 * 10 + 10
COMPLEX_PARAMETERS = (784 * 512 + 512) + (512 * 512 + 512) + (512 * 10 + 10)
LOOP_TRAIN, LOOP_TEST, LOOP_FLOOR = 3_000, 1_000, 0.75  # one epoch of the student's loop on 3,000 images must reach 75%
KNN_SAMPLE, KNN_AGREEMENT, KNN_FLOOR = 200, 0.98, 0.8  # test images compared with scikit-learn; agreement; accuracy floor


def _open(names: tuple[str, ...], namespace: dict[str, Any]) -> Verdict | None:
    names = tuple(missing(namespace, names))
    return Verdict("open", f"nog niet ingevuld: {', '.join(names)}") if names else None


def _outputs(model: nn.Module, count: int) -> torch.Tensor:
    with torch.no_grad():
        return model(to_features(course_data().train.images[:count]))


def simple_network(namespace: dict[str, Any]) -> Verdict:
    if (still := _open(("SimpleNetwork",), namespace)) is not None:
        return still
    model = namespace["SimpleNetwork"]()
    parameters = sum(p.numel() for p in model.parameters())
    if parameters != SIMPLE_PARAMETERS:
        return Verdict("failed", f"SimpleNetwork heeft {parameters} parameters; verwacht {SIMPLE_PARAMETERS} (784 x 10 gewichten + 10 biases)")
    shape = tuple(_outputs(model, 5).shape)
    if shape != (5, 10):
        return Verdict("failed", f"5 plaatjes geven output met vorm {shape}; verwacht (5, 10): tien scores per plaatje")
    return Verdict("passed", f"SimpleNetwork: {SIMPLE_PARAMETERS} parameters, tien scores per plaatje")


def training_loop(namespace: dict[str, Any]) -> Verdict:
    if (still := _open(("train_epoch",), namespace)) is not None:
        return still
    data = course_data()
    torch.manual_seed(0)
    model = preset("simple", name="notebook").model_config.build()  # digitlab's SimpleNetwork, with sigmoid: only the loop counts
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    try:
        loss = namespace["train_epoch"](model, to_features(data.train.images[:LOOP_TRAIN]), data.train.labels[:LOOP_TRAIN],
                                        nn.CrossEntropyLoss(), optimizer, batch_size=64)
    except NotImplementedError:
        return Verdict("open", "nog niet ingevuld: train_epoch")
    if loss is None or not isinstance(loss, int | float | torch.Tensor) or not math.isfinite(float(loss)):
        return Verdict("failed", f"train_epoch gaf {loss!r}; verwacht de gemiddelde loss, een getal")
    with torch.no_grad():
        score = accuracy(model(to_features(data.test.images[:LOOP_TEST])).argmax(dim=1), data.test.labels[:LOOP_TEST])
    if score < LOOP_FLOOR:
        return Verdict("failed", f"na één epoch op {LOOP_TRAIN} plaatjes haalt het netwerk {NUMBERS.percent(score, 1)}, verwacht minstens "
                                 f"{NUMBERS.percent(LOOP_FLOOR, 0)}: doet je lus zero_grad, forward, loss, backward en step, voor elke batch?")
    return Verdict("passed", f"train_epoch traint: {NUMBERS.percent(score, 1)} goed na één epoch op {LOOP_TRAIN} plaatjes "
                             f"(gemiddelde loss {NUMBERS.decimal(float(loss), 3)})")


def complex_network(namespace: dict[str, Any]) -> Verdict:
    if (still := _open(("ComplexNetwork",), namespace)) is not None:
        return still
    model = namespace["ComplexNetwork"]()
    parameters = sum(p.numel() for p in model.parameters())
    if parameters != COMPLEX_PARAMETERS:
        return Verdict("failed", f"ComplexNetwork heeft {parameters} parameters; verwacht {COMPLEX_PARAMETERS} = "
                                 "(784 x 512 + 512) + (512 x 512 + 512) + (512 x 10 + 10)")
    out = model(to_features(course_data().train.images[:5]))
    if tuple(out.shape) != (5, 10):
        return Verdict("failed", f"5 plaatjes geven output met vorm {tuple(out.shape)}; verwacht (5, 10)")
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
    unused = [name for name, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    if unused:
        return Verdict("failed", f"deze parameters doen niet mee in forward: {unused}; gaat x door alle drie de lagen?")
    return Verdict("passed", f"ComplexNetwork: {COMPLEX_PARAMETERS} parameters, drie lagen die allemaal meedoen, tien scores per plaatje")


def knn(namespace: dict[str, Any]) -> Verdict:
    if (still := _open(("y_pred",), namespace)) is not None:
        return still
    data = course_data()
    predicted = torch.as_tensor(numpy.asarray(namespace["y_pred"])).reshape(-1)
    if len(predicted) != len(data.test):
        return Verdict("failed", f"y_pred heeft {len(predicted)} voorspellingen; verwacht er één per testplaatje ({len(data.test)})")
    fitted = namespace.get("knn")
    params = fitted.get_params() if hasattr(fitted, "get_params") else {}
    reference = KNeighborsClassifier(n_neighbors=params.get("n_neighbors", 3), weights=params.get("weights", "uniform"),
                                     metric=params.get("metric", "euclidean"), algorithm="brute")
    reference.fit(flatten_images(data.train.images).numpy(), data.train.labels.numpy())
    sample = torch.randperm(len(data.test), generator=torch.Generator().manual_seed(0))[:KNN_SAMPLE]
    agreement = float((reference.predict(flatten_images(data.test.images[sample]).numpy()) == predicted[sample].numpy()).mean())
    if agreement < KNN_AGREEMENT:
        return Verdict("failed", f"op {KNN_SAMPLE} testplaatjes geeft scikit-learn's k-NN maar in "
                                 f"{NUMBERS.percent(agreement, 0)} hetzelfde antwoord; "
                                 "fit op de trainset, voorspel de testset")
    score = accuracy(predicted, data.test.labels)
    if score < KNN_FLOOR:
        return Verdict("failed", f"k-NN haalt {NUMBERS.percent(score, 1)}; verwacht minstens {NUMBERS.percent(KNN_FLOOR, 0)}")
    return Verdict("passed", f"k-NN: {NUMBERS.percent(score, 2)} goed, op {KNN_SAMPLE} testplaatjes "
                             f"{NUMBERS.percent(agreement, 0)} gelijk aan scikit-learn")
