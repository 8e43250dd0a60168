"""Stap 4, ``train_epoch``: the student's loop trains the checker's own network on the checker's data.

In the sandbox the checker builds digitlab's SimpleNetwork (the course's, with its sigmoid), hands the
student's ``train_epoch`` an Adam optimizer of its own that counts ``step`` calls and notices a missing
``zero_grad`` (after each step it fills the gradients with NaN: a loop that clears them before the next
backward never sees the NaN), and predicts the test images afterwards. The grader judges the returned loss,
one step per batch, the cleared gradients and the accuracy on the hidden test labels.
"""

from __future__ import annotations

import math

from digitlab.notebooks.checks.contract import FAILED, NOT_ANSWERED, PASSED, Check, Truth, Verdict, error_of, labels, number, register

ASSIGNMENT = "training-loop"
FLOOR = 0.75  # digitlab's SimpleNetwork after one epoch of a correct loop on 3000 images: ~0.85


def extract(namespace, kit) -> dict:
    import torch
    from torch import nn

    from digitlab.notebooks.checks.kit import BATCH_SIZE, LEARNING_RATE, SEED, TRAIN_IMAGES
    from digitlab.presets import preset

    train_epoch = namespace.get("train_epoch")
    if not callable(train_epoch):
        return {"missing": "train_epoch"}
    torch.manual_seed(SEED)
    model = preset("simple", name="notebook").model_config.build()  # the course's SimpleNetwork, with its sigmoid
    watched = [tensor for _, tensor in kit.parameters(model)]
    seen = {"steps": 0, "stale": False}
    step = torch.optim.Adam.step

    class CheckedAdam(torch.optim.Adam):
        def step(self, closure=None):
            seen["steps"] += 1
            if any(t.grad is not None and bool(torch.isnan(t.grad).any()) for t in watched):
                seen["stale"] = True  # the NaN of the last step is still there: nothing cleared the gradients
                for t in watched:
                    t.grad = None
            result = step(self, closure)
            for t in watched:
                if t.grad is not None:
                    t.grad.fill_(math.nan)
            return result

    optimizer = CheckedAdam(watched, lr=LEARNING_RATE)
    inputs, targets = kit.features(kit.train_images[:TRAIN_IMAGES]), kit.train_labels[:TRAIN_IMAGES]
    try:
        loss = train_epoch(model, inputs, targets, nn.CrossEntropyLoss(), optimizer, BATCH_SIZE)
    except Exception as error:
        return {"error": {"type": type(error).__name__, "message": str(error).strip().split("\n")[0][:300]}, **seen}
    for t in watched:
        t.grad = None
    try:
        loss = float(loss)
    except (TypeError, ValueError, RuntimeError):
        loss = None
    return {"loss": loss if loss is None or math.isfinite(loss) else None, "predictions": kit.predict(model),
            "batches": -(-TRAIN_IMAGES // BATCH_SIZE), **seen}


def judge(data: dict, truth: Truth) -> Verdict:
    if "missing" in data:
        return Verdict(FAILED, "net.missing", "where", {"name": "train_epoch"})
    error = error_of(data)
    if error and error[0] == "NotImplementedError":
        return Verdict(NOT_ANSWERED, "placeholder", "", {"name": "train_epoch"})
    if error:
        return Verdict(FAILED, "loop.error", "read-error", {"error": f"{error[0]}: {error[1]}"})
    steps, batches = number(data.get("steps")), number(data.get("batches"))
    if not steps:
        return Verdict(FAILED, "loop.no-step", "loop.no-step", {})
    if data.get("stale") is True:
        return Verdict(FAILED, "loop.stale", "loop.zero-grad", {})
    if batches is not None and steps != batches:
        return Verdict(FAILED, "loop.steps", "loop.steps", {"steps": int(steps), "batches": int(batches)})
    predicted = labels(data.get("predictions"), len(truth.test_labels))
    if predicted is None:
        return Verdict(FAILED, "bad-data", "", {"name": "train_epoch"})
    accuracy = float((predicted == truth.test_labels).mean())
    if accuracy < FLOOR:
        return Verdict(FAILED, "loop.learns-not", "loop.learns-not", {"accuracy": accuracy, "floor": FLOOR})
    if number(data.get("loss")) is None:
        return Verdict(FAILED, "loop.loss", "loop.loss", {"accuracy": accuracy})
    return Verdict(PASSED, "loop.passed", "", {"accuracy": accuracy, "loss": float(data["loss"])})


register(Check(ASSIGNMENT, extract, judge))
