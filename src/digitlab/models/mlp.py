"""A fully connected network of any depth and width: the notebook's Opdracht 2.b, generalised.

``MLP(MLPConfig(hidden_sizes=(512, 512), activation="relu"))`` is the notebook's 3-layer network with the
changes that make it learn faster and further: ReLU instead of sigmoid (no vanishing gradients),
logits out; ``dropout=0.2`` regularises longer runs (the short default preset does better without).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from digitlab.models.base import Network, check_choice, check_positive, widths

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,  # the notebook's choice
}


@dataclass(frozen=True)
class MLPConfig:
    hidden_sizes: tuple[int, ...] = (512, 512)  # neurons per hidden layer; () is the 1-layer network
    activation: str = "relu"  # after every hidden layer; one of ACTIVATIONS
    dropout: float = 0.0  # chance of zeroing a hidden neuron while training (0.2 helps long runs; the 5-epoch preset does better without)
    batch_norm: bool = False  # BatchNorm1d before each activation
    input_size: int = 784  # 28 x 28 pixels, flattened (a run sizes it for its dataset)
    num_classes: int = 10  # output scores, one per class

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_sizes", widths("hidden_sizes", self.hidden_sizes))
        check_choice("activation", self.activation, tuple(ACTIVATIONS))
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        check_positive("input_size", self.input_size)
        check_positive("num_classes", self.num_classes)

    def build(self) -> MLP:
        """A freshly initialised network of this config (the class is defined below)."""
        return MLP(self)


class MLP(Network):
    """Linear -> [BatchNorm] -> activation -> [Dropout] per hidden layer, then Linear to logits.

    >>> MLP(MLPConfig(hidden_sizes=(512, 512))).num_parameters()   # same size as ComplexNetwork
    669706
    """

    name = "mlp"

    def __init__(self, config: MLPConfig | None = None) -> None:
        super().__init__(config or MLPConfig())
        layers: list[nn.Module] = []
        width = self.config.input_size
        for hidden in self.config.hidden_sizes:
            layers.append(nn.Linear(width, hidden, bias=not self.config.batch_norm))  # BN has its own shift
            if self.config.batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(ACTIVATIONS[self.config.activation]())
            if self.config.dropout:
                layers.append(nn.Dropout(self.config.dropout))
            width = hidden
        layers.append(nn.Linear(width, self.config.num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, self.config.input_size)  # (N, 28, 28) or (N, 784) -> (N, 784)
        return self.layers(x)  # (N, num_classes) logits
