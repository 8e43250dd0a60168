"""The network classes (Stap 3 SimpleNetwork, Opdracht 2.a ComplexNetwork): built, counted and trained by the checker.

In the sandbox the checker builds the student's class, walks its parameters itself, records the raw
outputs on a few test images and which parameters get a gradient, then trains a fresh copy one epoch with
its own loop and predicts the test images. The grader judges: the parameter count, ten outputs, no
softmax (or, after the hidden layers' course, sigmoid) at the end, every layer used, and an accuracy floor
on test labels the sandbox never had.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from digitlab.notebooks.checks.contract import FAILED, NOT_ANSWERED, PASSED, Check, Truth, Verdict, error_of, labels, matrix, register, shapes

CLASSES = 10  # digits 0-9
PIXELS = 784  # 28 x 28 inputs
PROBABILITY_TOLERANCE = 1e-3  # rows summing to 1 within this are a softmax's output


@dataclass(frozen=True)
class Network:
    """What one network assignment asks for."""

    assignment: str
    name: str  # the class the student writes
    parameters: int  # how many the course's layers have
    sigmoid_allowed: bool  # the course asks for a sigmoid at the end of SimpleNetwork only
    floor: float  # test accuracy after the checker's one epoch on 3000 images, well under the course's network's


SIMPLE = Network("simple-network", "SimpleNetwork", PIXELS * CLASSES + CLASSES, sigmoid_allowed=True,
                 floor=0.7)  # the course's SimpleNetwork: 82%
COMPLEX = Network("complex-network", "ComplexNetwork", (PIXELS * 512 + 512) + (512 * 512 + 512) + (512 * CLASSES + CLASSES),
                  sigmoid_allowed=False, floor=0.6)  # the course's layers with logits out: 74%


def _error(stage: str, error: BaseException) -> dict:
    return {"error": {"type": type(error).__name__, "message": str(error).strip().split("\n")[0][:300]}, "stage": stage}


def _extract(network: Network):
    def extract(namespace, kit) -> dict:
        import torch  # the sandbox's torch; the grader never calls this

        cls = namespace.get(network.name)
        if cls is None:
            return {"missing": network.name}
        try:
            model = kit.build(cls)
        except Exception as error:
            return _error("build", error)
        params = kit.parameters(model)
        data: dict[str, Any] = {"shapes": [list(tensor.shape) for _, tensor in params]}
        try:
            out = nn_call(kit, model)
            data["outputs"] = _rows(out)
            weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(0))
            torch.Tensor.backward(torch.Tensor.sum(out * weights))
            data["unused"] = [name for name, tensor in params if tensor.grad is None or not bool(tensor.grad.abs().sum() > 0)]
        except Exception as error:
            return {**data, **_error("forward", error)}
        try:
            trained = kit.build(cls)
            data["loss"] = kit.train(trained)
            data["predictions"] = kit.predict(trained)
        except Exception as error:
            return {**data, **_error("train", error)}
        return data

    return extract


def nn_call(kit, model):
    """The model's raw outputs on the probe images, with gradients (the unused-layer test needs them)."""
    from torch import nn

    model.train()
    return nn.Module.__call__(model, kit.probe())


def _rows(out) -> list:
    from digitlab.notebooks.checks.kit import rounded

    return rounded(out.detach().reshape(len(out), -1)) if out.ndim >= 1 else [[float(out)]]


def _judge(network: Network):
    def judge(data: dict, truth: Truth) -> Verdict:
        name = {"name": network.name}
        if "missing" in data:
            return Verdict(FAILED, "net.missing", "where", name)
        counted = shapes(data.get("shapes"))
        error = error_of(data)
        if error and error[0] == "NotImplementedError":
            return Verdict(NOT_ANSWERED, "placeholder", "", name)
        if error and data.get("stage") == "build":
            return Verdict(FAILED, "net.build-error", "read-error", {**name, "error": f"{error[0]}: {error[1]}"})
        if counted is None:
            return Verdict(FAILED, "bad-data", "", name)
        count = sum(math.prod(shape) for shape in counted)
        if count != network.parameters:
            nine = count == network.parameters - (_last_layer_in(network) + 1)
            return Verdict(FAILED, "net.count", "net.nine-outputs" if nine else "net.count",
                           {**name, "count": count, "expected": network.parameters})
        if error:
            return Verdict(FAILED, "net.forward-error", "net.flat" if "shape" in error[1] else "read-error",
                           {**name, "error": f"{error[0]}: {error[1]}"})
        return _judge_outputs(network, data, truth, name)

    return judge


def _last_layer_in(network: Network) -> int:
    return PIXELS if network is SIMPLE else 512


def _judge_outputs(network: Network, data: dict, truth: Truth, name: dict) -> Verdict:
    out = matrix(data.get("outputs"))
    if out is None or np.isnan(out).any():
        return Verdict(FAILED, "net.outputs-nan", "", name)
    if out.shape[1] != CLASSES:
        hint = "net.nine-outputs" if out.shape[1] == CLASSES - 1 else "net.ten-outputs"
        return Verdict(FAILED, "net.outputs", hint, {**name, "columns": out.shape[1]})
    probabilities = bool(((out >= 0) & (out <= 1)).all())
    if probabilities and bool((np.abs(out.sum(axis=1) - 1) < PROBABILITY_TOLERANCE).all()):
        return Verdict(FAILED, "net.softmax", "net.logits", name)
    if probabilities and not network.sigmoid_allowed:
        return Verdict(FAILED, "net.sigmoid", "net.logits", name)
    unused = data.get("unused")
    if isinstance(unused, list) and unused:
        return Verdict(FAILED, "net.unused", "net.unused", {**name, "unused": ", ".join(map(str, unused[:10]))})
    predicted = labels(data.get("predictions"), len(truth.test_labels))
    if predicted is None:
        return Verdict(FAILED, "bad-data", "", name)
    accuracy = float((predicted == truth.test_labels).mean())
    params = {**name, "accuracy": accuracy, "floor": network.floor, "count": network.parameters}
    if accuracy < network.floor:
        return Verdict(FAILED, "net.learns-not", "net.learns-not", params)
    return Verdict(PASSED, "net.passed", "", params)


for _network in (SIMPLE, COMPLEX):
    register(Check(_network.assignment, _extract(_network), _judge(_network)))
