"""What every digitlab network shares: a typed config, named outputs, ``reset()`` and a size.

A network's ``outputs`` says what its forward pass returns, because the course's own networks
end in a sigmoid or softmax while ``nn.CrossEntropyLoss`` expects raw scores (logits):

- ``"logits"``: raw scores; the right input for ``CrossEntropyLoss`` (which applies log-softmax itself).
- ``"sigmoid"`` / ``"softmax"``: squashed outputs, as the notebook builds them. Training these with
  ``CrossEntropyLoss`` squashes twice; digitlab only does that when asked to be notebook-faithful.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

from torch import nn

OUTPUTS = ("logits", "sigmoid", "softmax")


def check_choice(name: str, value: Any, choices: tuple) -> None:
    """Raise a ValueError naming the field, the bad value and the allowed ones."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


def check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def widths(name: str, values: Any) -> tuple[int, ...]:
    """Layer widths as a tuple (lists from JSON and the command line become tuples), each a positive integer."""
    values = tuple(values)
    for width in values:
        check_positive(f"every width of {name}", width)
    return values


class Network(nn.Module):
    """Base class: subclasses set ``name`` (the registry key) and build layers from ``config``."""

    name: ClassVar[str]

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    @property
    def outputs(self) -> str:
        """What forward returns: "logits", "sigmoid" or "softmax" (see the module docstring)."""
        return getattr(self.config, "outputs", "logits")

    def reset(self) -> Network:
        """Fresh random weights, as a new network would get: an untrained model for a fair rerun.

        The notebook asks for this between experiments, since calling ``train()`` again continues
        from the trained weights. Every layer re-draws its parameters with PyTorch's own
        initialisation (BatchNorm also forgets its running statistics).
        """
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        return self

    def num_parameters(self) -> int:
        """Trainable parameters (what torchinfo reports as 'Trainable params')."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def config_dict(self) -> dict[str, Any]:
        """The config as plain JSON-able values (tuples become lists)."""
        return asdict(self.config)
