"""The checker's own tools inside the sandbox, made before any student code runs.

A :class:`Kit` holds the data the sandbox was given (train images and labels, test images without labels)
and the library functions a check needs, captured as objects when the kit is made: a student's cell that
later replaces ``torch.Tensor.argmax``, ``nn.Module.parameters`` or ``builtins.len`` changes the names, not
the objects the kit calls. :meth:`Kit.restore` also puts the captured attributes back on the modules before
each check, so library code the kit calls indirectly runs unpatched too.

Only this process (the sandbox) imports this module; the grader never does.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass

import numpy
import torch
from torch import nn

from digitlab.pixels import to_float

SEED = 0  # the checker's own seed for building and training a student's network
TRAIN_IMAGES = 3_000  # images the checker's loop trains on (the notebook's quick mode has this many)
BATCH_SIZE = 64  # the checker's loop and the training-loop check use the notebook's small batch
LEARNING_RATE = 0.01  # Adam, as in the course
PROBE_IMAGES = 64  # test images whose raw outputs a check reports (softmax detection, shapes)
# The modules whose attributes a student might replace and the kit's calls rely on
GUARDED = (builtins, torch, torch.nn.functional, torch.Tensor, nn.Module, nn.Linear, torch.optim.Optimizer, numpy)


@dataclass
class Kit:
    """Data and captured functions for the checks' ``extract`` functions."""

    train_images: torch.Tensor  # (N, 28, 28) uint8
    train_labels: torch.Tensor  # (N,) int64
    test_images: torch.Tensor  # (M, 28, 28) uint8; the labels stay with the grader
    snapshot: dict  # module -> its attributes when the kit was made

    @classmethod
    def make(cls, train_images: numpy.ndarray, train_labels: numpy.ndarray, test_images: numpy.ndarray) -> Kit:
        snapshot = {module: dict(vars(module)) for module in GUARDED}
        return cls(torch.from_numpy(train_images), torch.from_numpy(train_labels), torch.from_numpy(test_images), snapshot)

    def restore(self, _vars=vars, _list=list, _isinstance=isinstance, _type=type) -> None:
        """Put every captured attribute back, and drop the ones added to a guarded class (they shadow its bases).

        Attributes added to a module stay: libraries add their own as they import submodules. The builtins
        this needs are bound when the kit's module is imported (default arguments), before student code.
        """
        for module, attributes in self.snapshot.items():
            current = _vars(module)
            for name in _list(current):
                if name not in attributes and _isinstance(module, _type):
                    _force(delattr, module, name)
            for name, value in attributes.items():
                if current.get(name, _MISSING) is not value:
                    _force(setattr, module, name, value)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Images as the course feeds them to a network: (N, 784) float32 in [0, 1]."""
        return to_float(images.reshape(len(images), -1))

    def probe(self) -> torch.Tensor:
        return self.features(self.test_images[:PROBE_IMAGES])

    def build(self, cls) -> nn.Module:
        torch.manual_seed(SEED)
        model = cls()
        if not isinstance(model, nn.Module):
            raise TypeError(f"{type(model).__name__} is geen nn.Module")
        return model

    def parameters(self, model: nn.Module) -> list[tuple[str, torch.Tensor]]:
        """(name, tensor) of every parameter, walked from the modules' own dicts (not the model's methods)."""
        found, seen, todo = [], set(), [("", model)]
        while todo:
            prefix, module = todo.pop(0)
            state = vars(module)
            for name, tensor in state.get("_parameters", {}).items():
                if isinstance(tensor, torch.Tensor) and id(tensor) not in seen:
                    seen.add(id(tensor))
                    found.append((prefix + name, tensor))
            for name, child in state.get("_modules", {}).items():
                if isinstance(child, nn.Module):
                    todo.append((f"{prefix}{name}.", child))
        return found

    def outputs(self, model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return nn.Module.__call__(model, inputs)

    def predict(self, model: nn.Module) -> list[int]:
        """The model's class for every test image (the highest of its outputs)."""
        model.eval()
        out = self.outputs(model, self.features(self.test_images))
        return torch.Tensor.tolist(torch.Tensor.argmax(out, dim=1))

    def train(self, model: nn.Module) -> float:
        """One epoch of the checker's own loop (Adam, cross-entropy, batches of 64); the mean loss."""
        torch.manual_seed(SEED)
        inputs, labels = self.features(self.train_images[:TRAIN_IMAGES]), self.train_labels[:TRAIN_IMAGES]
        optimizer, loss_fn, total = torch.optim.Adam([t for _, t in self.parameters(model)], lr=LEARNING_RATE), nn.CrossEntropyLoss(), 0.0
        model.train()
        for batch in torch.randperm(len(inputs)).split(BATCH_SIZE):
            optimizer.zero_grad()
            loss = loss_fn(nn.Module.__call__(model, inputs[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        return total / len(inputs)


_MISSING = object()


def _force(action, module, *arguments, _errors=(AttributeError, TypeError)) -> None:
    """setattr/delattr that also works on types whose attributes need ``type.__setattr__``."""
    try:
        action(module, *arguments)
    except _errors:
        pass  # a read-only attribute the student could not have changed either


def rounded(values: torch.Tensor) -> list:
    """Raw outputs as JSON numbers (6 significant digits are plenty to see a softmax; NaN becomes None)."""
    return [[None if not math.isfinite(v) else float(f"{v:.6g}") for v in row] for row in values.tolist()]
