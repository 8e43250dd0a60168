"""The run spec a checkpoint names, for tests that train or save a network themselves (RunSpec writes it)."""

from typing import Any

from digitlab.experiments.spec import RunSpec
from digitlab.models import Network
from digitlab.training import TrainConfig


def run_spec(model: Network, dataset: str = "mnist", training: TrainConfig | None = None) -> dict[str, Any]:
    """The spec of a run that trains ``model`` on ``dataset`` with ``training`` (the default TrainConfig)."""
    training = training or TrainConfig()
    return RunSpec(dataset=dataset, kind="network", model=model.name, model_config=model.config, train_config=training,
                   knn_config=None, train_limit=None, test_limit=None, validation_size=0, seed=training.seed,
                   device="cpu").to_dict()
