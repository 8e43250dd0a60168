"""A store full of plausible runs without training anything: the lab's real sweep files, a fake evaluation.

The fake follows the lab's result contract (objective, metrics, history, confusion, test_predictions,
environment) with numbers that move the way real ones do: more epochs help, bigger batches are
faster, wider layers help, k-NN is slow to predict and slower with more training images.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from digitlab.datasets import Dataset, Split
from digitlab.experiments import ExperimentConfig, load_sweep_file, open_storage, run_grid
from digitlab.experiments.spec import resolve
from digitlab.images.transforms import IDENTITY_STRENGTH, STRENGTHS
from digitlab.packaged import sweep_dir
from digitlab.robustness.evaluate import parse_transforms

LAB_CONFIGS = sweep_dir()
DIGITS = tuple(str(digit) for digit in range(10))
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
TEST_SIZE = 120
FULL_TRAIN = 55_000  # what a real run trains on: 60k minus the validation images
VALIDATION = 5_000  # the images a run holds out of the training set by default
SUBSET_OFFSET = 0.004  # the robustness runs' first test images score a little apart from the whole test set
UNSEEN_TOLERANCE = 0.7  # an augmented network's tolerance of a change it never trained on, against a plain one's


def tiny_dataset(name: str = "mnist", train: int = 90, test: int = TEST_SIZE, seed: int = 0) -> Dataset:
    """Blurry blobs whose position depends on the class: enough to look like data in the figures."""
    generator = torch.Generator().manual_seed(seed)

    def split(size: int) -> Split:
        labels = torch.arange(size) % 10
        labels = labels[torch.randperm(size, generator=generator)]
        rows = torch.arange(28).view(1, 28, 1).float()
        cols = torch.arange(28).view(1, 1, 28).float()
        centre_r, centre_c = (6 + 2 * (labels // 2)).view(-1, 1, 1).float(), (8 + 3 * (labels % 4)).view(-1, 1, 1).float()
        blob = torch.exp(-((rows - centre_r) ** 2 + (cols - centre_c) ** 2) / 18)
        noise = torch.rand(size, 28, 28, generator=generator) * 0.2
        return Split(((blob + noise).clamp(0, 1) * 255).to(torch.uint8), labels.to(torch.int64))

    return Dataset(name, FASHION if name == "fashion-mnist" else DIGITS, split(train), split(test), source="generated")


def _accuracy(config: ExperimentConfig) -> float:
    """A made-up but monotone test accuracy for a config."""
    penalty = 0.06 if config.dataset == "fashion-mnist" else 0.0
    if config.kind == "knn":
        options = config.knn_config
        size = config.train_limit or FULL_TRAIN
        value = 0.975 - 0.002 * abs(options.get("n_neighbors", 5) - 3) - (0.006 if options.get("metric") == "manhattan" else 0)
        value += (0.001 if options.get("weights") == "distance" else 0) + (0.008 if options.get("deskew") else 0)
        return value - 0.02 * np.log(FULL_TRAIN / size) - penalty * 2
    epochs = config.train_config.get("epochs", 10)
    if epochs == 0:
        return -1.0  # untrained: decided by its predictions
    batch = config.train_config.get("batch_size", 128)
    if config.model == "simple":
        base = 0.925 if config.preset == "recommended" else 0.83 + 0.01 * epochs - batch / 20_000
    elif config.model == "complex":
        base = 0.90 + 0.0075 * epochs - batch / 40_000
    elif config.model == "cnn":
        base = 0.991
    else:
        hidden = config.model_config.get("hidden_sizes", [512, 512])
        tuned = config.train_config.get("epochs") is None  # mlp-best: the recommended 12 epochs
        base = 0.96 + 0.004 * np.log2(min(hidden) / 10) - 0.001 * len(hidden) + (0.01 if tuned else 0)
    return float(min(base - penalty, 0.995))


def _seconds(config: ExperimentConfig) -> float:
    epochs = config.train_config.get("epochs", 10)
    batch = config.train_config.get("batch_size", 128)
    width = sum(config.model_config.get("hidden_sizes", [512, 512])) if config.model in ("mlp", "complex") else 10
    return epochs * (2.0 + 60_000 / batch * 0.002) * (1 + width / 512) * (8 if config.model == "cnn" else 1)


def _parameters(config: ExperimentConfig) -> int | None:
    if config.kind == "knn":
        return None
    if config.model == "cnn":
        return 421_738
    hidden = [] if config.model == "simple" else config.model_config.get("hidden_sizes", [512, 512])
    sizes = [784, *hidden, 10]
    return sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))


def _robustness(config: ExperimentConfig, clean: float) -> dict:
    """Made-up scores on changed test sets: CNNs and augmented networks hold up longer; only inverted training survives inversion."""
    if not config.robustness:
        return {}
    augment = config.train_config.get("augment", "") if config.kind == "network" else ""
    augment = "" if augment == "shift" else augment  # the CNN preset's own whole-pixel moves: no augmentation to the report
    base = (2.0 if config.model == "cnn" else 0.6) if config.kind == "network" else 0.4
    scores = {}
    for name in parse_transforms(config.robustness):
        strengths = STRENGTHS[name]
        span = max(abs(value - IDENTITY_STRENGTH[name]) for value in strengths)
        # Augmentation helps against the changes it trained on, and costs a little on the others (as measured on MNIST).
        tolerance = base * (3 if name in augment.split(",") else UNSEEN_TOLERANCE if augment else 1)
        by_strength = {}
        for strength in strengths:
            change = abs(strength - IDENTITY_STRENGTH[name]) / span  # 0 (unchanged) .. 1 (the sweep's strongest)
            drop = change * (0.06 / base if "invert" in augment else 0.85) if name == "invert" else change * 0.5 / tolerance
            by_strength[f"{strength:g}"] = max(0.1, clean - SUBSET_OFFSET - drop)
        scores[name] = by_strength
    return {"robustness": scores, "robustness_seconds": 1.0}


def make_evaluate(dataset: Dataset):
    """A cheap evaluate(config, report) -> result dict for run_grid, scored against ``dataset``'s test labels."""
    labels = dataset.test.labels.numpy()

    def evaluate(config: ExperimentConfig, report) -> dict:
        seed = int(hashlib.sha256(config.digest().encode()).hexdigest()[:8], 16)
        rng = np.random.default_rng(seed)
        accuracy = _accuracy(config)
        if accuracy < 0:  # untrained: one class for (nearly) everything
            predicted = np.full(len(labels), config.seed % 10)
        else:
            right = rng.random(len(labels)) < accuracy
            predicted = np.where(right, labels, (labels + rng.integers(1, 10, len(labels))) % 10)
        confusion = np.zeros((10, 10), dtype=int)
        np.add.at(confusion, (labels, predicted), 1)
        test_accuracy = float((predicted == labels).mean())
        knn = config.kind == "knn"
        train_size = (config.train_limit or FULL_TRAIN + VALIDATION) - config.validation_size  # what the runner trains on
        train_seconds = 0.0 if knn or config.train_config.get("epochs") == 0 else _seconds(config)
        epochs = 0 if knn else config.train_config.get("epochs", 10)
        history = [{"epoch": e + 1, "train_loss": 1.5 / (e + 1), "train_accuracy": test_accuracy - 0.02 / (e + 1),
                    "val_accuracy": test_accuracy - 0.01 / (e + 1), "test_accuracy": test_accuracy - 0.01 / (e + 1),
                    "seconds": train_seconds / max(epochs, 1)} for e in range(epochs)]
        metrics = {
            "val_accuracy": test_accuracy + rng.normal(0, 0.002), "test_accuracy": test_accuracy,
            "macro_accuracy": test_accuracy, "train_seconds": train_seconds,
            "predict_seconds": 25.0 * train_size / FULL_TRAIN if knn else 0.05 * (8 if config.model == "cnn" else 1),
            "fit_seconds": 0.01 * train_size / FULL_TRAIN if knn else None,
            "num_parameters": _parameters(config), "train_size": train_size, "test_size": len(labels),
        }
        return {"objective": metrics["val_accuracy"], "metrics": metrics, "history": history, "spec": resolve(config, "cpu").to_dict(),
                "confusion": confusion.tolist(), "test_predictions": "".join(str(int(p)) for p in predicted),
                "environment": {"device": "cpu", "torch": torch.__version__, "python": "3.11", "digitlab": "test",
                                "git_commit": "0000000", "cpu_count": 2}, **_robustness(config, test_accuracy)}

    return evaluate


def fill_store(url: str, dataset: Dataset, only: tuple[str, ...] | None = None) -> None:
    """Run the lab's sweeps (all, or those named in ``only``) on ``dataset.name`` with the fake evaluation."""
    storage = open_storage(url)
    evaluate = make_evaluate(dataset)
    for path in sorted(LAB_CONFIGS.glob("*.toml")):
        sweep = load_sweep_file(path, dataset=dataset.name)
        if only is None or sweep.name in only:
            run_grid(sweep, storage, evaluate)
