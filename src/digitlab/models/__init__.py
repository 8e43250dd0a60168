"""The networks: the notebook's two, a configurable MLP and a small CNN, all built by name.

>>> from digitlab.models import build      # doctest: +SKIP
>>> simple = build("simple", outputs="sigmoid")   # the notebook's SimpleNetwork, 7,850 parameters
>>> mlp = build("mlp", hidden_sizes=[512, 512], activation="relu", dropout=0.2)
>>> mlp.reset()                                   # fresh random weights before the next experiment

Every network takes float images in [0, 1], shaped (N, 28, 28) or (N, 784), and returns (N, 10)
scores; ``model.outputs`` says whether those are logits or the notebook's sigmoid/softmax outputs.
"""

from digitlab.models.base import OUTPUTS, Network
from digitlab.models.cnn import CNN, CNNConfig
from digitlab.models.complex import ComplexConfig, ComplexNetwork
from digitlab.models.mlp import ACTIVATIONS, MLP, MLPConfig
from digitlab.models.registry import MODEL_NAMES, MODELS, build, make_config, network
from digitlab.models.simple import SimpleConfig, SimpleNetwork
from digitlab.models.summary import summary

__all__ = [
    "ACTIVATIONS",
    "CNN",
    "CNNConfig",
    "MLP",
    "MLPConfig",
    "MODELS",
    "MODEL_NAMES",
    "OUTPUTS",
    "ComplexConfig",
    "ComplexNetwork",
    "Network",
    "SimpleConfig",
    "SimpleNetwork",
    "build",
    "make_config",
    "network",
    "summary",
]
