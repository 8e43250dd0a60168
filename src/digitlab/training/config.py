"""How to train: one typed, JSON-able config per run (stored in every checkpoint).

``TrainConfig()`` is a sound default; the tuned and the course's settings per model and dataset are
the presets (:mod:`digitlab.presets`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from digitlab.images.augmentation import Augmenter, parse_augment

OPTIMIZERS = ("adam", "adamw", "sgd", "adadelta")
SCHEDULES = ("none", "linear", "notebook-linear", "onecycle", "cosine", "step")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10  # passes over the training set (0: the network is only evaluated, untrained)
    batch_size: int = 128  # images per gradient step
    lr: float = 1e-3  # learning rate (the peak rate for onecycle)
    optimizer: str = "adam"  # adam | adamw | sgd (with momentum) | adadelta
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.0  # L2 penalty (decoupled for adamw)
    schedule: str = "none"  # none | linear | notebook-linear | onecycle | cosine | step (see optim.py)
    step_gamma: float = 0.7  # 'step' schedule: lr multiplier after every epoch (PyTorch's MNIST example)
    warmup: float = 0.3  # 'onecycle': fraction of the steps spent rising to lr (OneCycleLR's pct_start; 0.3 is its default)
    label_smoothing: float = 0.0  # spread this much target probability over the other classes
    augment: str = ""  # random changes per batch, comma separated: shift, rotate, scale, elastic, noise, invert, thickness, mirror ("" = none)
    # 3 px / 15 degrees: CNN+augmentation keeps 99.5% clean and >= 98.5% on 4 px / 20 degree test changes
    # (4 px / 20 degrees gave 99.4% clean; benchmarks/RESULTS.md, robustness).
    augment_max_shift: float = 3.0  # 'shift': dx and dy each uniform in +-this many pixels (whole pixels when nothing else moves or reshapes)
    augment_max_degrees: float = 15.0  # 'rotate': angle uniform in +-this many degrees (handwriting's slant range)
    augment_max_zoom: float = 0.1  # 'scale': zoom factor uniform in [1 - this, 1 + this]
    seed: int = 0  # same seed, same shuffles, dropout and (on CPU) the same result
    time_budget: float | None = None  # stop after this many seconds of training, mid-epoch if needed
    eval_batch_size: int = 2048  # images per forward pass when measuring accuracy
    notebook_faithful: bool = False  # allow CrossEntropyLoss on sigmoid/softmax outputs, as the course does

    def __post_init__(self) -> None:
        for item in fields(self):  # inf passes every range check below and trains to NaN
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{item.name} must be a finite number, got {value!r}")
        for name, least in (("epochs", 0), ("batch_size", 1), ("eval_batch_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be a whole number of at least {least}, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {self.schedule!r}")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1 or not 0 < self.step_gamma <= 1:
            raise ValueError(f"need weight_decay >= 0, 0 <= momentum < 1, 0 < step_gamma <= 1; got "
                             f"{self.weight_decay!r}, {self.momentum!r}, {self.step_gamma!r}")
        if not 0 < self.warmup < 1:
            raise ValueError(f"warmup must be a fraction of the training steps in (0, 1), got {self.warmup!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        object.__setattr__(self, "augment", ",".join(parse_augment(self.augment)))  # canonical: "shift,rotate"
        if self.augment:
            try:
                augmenter(self)  # the Augmenter checks the ranges
            except ValueError as error:
                raise ValueError(f"augmentation settings (augment_max_shift, augment_max_degrees, augment_max_zoom): {error}") from error
        if self.time_budget is not None and not self.time_budget > 0:
            raise ValueError(f"time_budget must be a positive number of seconds, got {self.time_budget!r}")

    def describe(self) -> str:
        """Every setting that changes what is learnt, in one line: the training header and ``train --help``."""
        parts = [f"{self.epochs} epochs x batch {self.batch_size}", f"{self.optimizer} lr {self.lr:.3g}"]
        if self.optimizer == "sgd":
            parts.append(f"momentum {self.momentum:g}")
        if self.weight_decay:
            parts.append(f"weight decay {self.weight_decay:g}")
        parts.append({"onecycle": f"onecycle ({self.warmup:.0%} warm-up)", "step": f"step (x{self.step_gamma:g} per epoch)",
                      "none": "no schedule"}.get(self.schedule, self.schedule))
        parts.append(f"label smoothing {self.label_smoothing:g}")
        if self.augment:
            kinds = self.augment.split(",")
            ranges = [text for kind, text in (("shift", f"{self.augment_max_shift:g} px"), ("rotate", f"{self.augment_max_degrees:g} deg"),
                                              ("scale", f"zoom {self.augment_max_zoom:.0%}")) if kind in kinds]
            parts.append(f"augment {self.augment}" + (f" ({', '.join(ranges)})" if ranges else ""))
        if self.time_budget is not None:
            parts.append(f"time budget {self.time_budget:g} s")
        if self.notebook_faithful:
            parts.append("notebook-faithful")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are an error that names them."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"TrainConfig has no setting {', '.join(map(repr, unknown))}")
        return cls(**values)


def augmenter(config: TrainConfig) -> Augmenter | None:
    """The per-batch augmentation ``config.augment`` asks for (None for none), seeded by the run's seed."""
    if not config.augment:
        return None
    zoom = config.augment_max_zoom
    if not 0 <= zoom < 1:
        raise ValueError(f"augment_max_zoom must be in [0, 1), got {zoom!r}")
    return Augmenter(kinds=parse_augment(config.augment), max_shift=config.augment_max_shift,
                     max_degrees=config.augment_max_degrees, scale_range=(1 - zoom, 1 + zoom), seed=config.seed)
