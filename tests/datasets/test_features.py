import pytest
import torch

from digitlab.datasets import flatten, one_hot, to_features
from digitlab.datasets.dataset import Dataset, Split, train_validation_split


def test_flatten_and_features_shapes():
    images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    assert flatten(images).shape == (5, 784)
    features = to_features(images)
    assert features.shape == (5, 784)
    torch.testing.assert_close(features[3].reshape(28, 28), images[3].float() / 255)


def test_one_hot_round_trips_through_argmax():
    labels = torch.tensor([5, 0, 4, 1, 9])
    encoded = one_hot(labels, 10)
    assert encoded.shape == (5, 10) and encoded.dtype == torch.float32
    assert encoded.sum(dim=1).tolist() == [1.0] * 5
    assert encoded.argmax(dim=1).tolist() == labels.tolist()


def _split(n: int) -> Split:
    return Split(torch.zeros(n, 4, 4, dtype=torch.uint8), torch.arange(n, dtype=torch.int64) % 3)


def test_split_validates_types():
    with pytest.raises(ValueError, match="uint8"):
        Split(torch.zeros(2, 4, 4), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="int64"):
        Split(torch.zeros(2, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64))


def test_limit_and_class_counts():
    dataset = Dataset("x", ("a", "b", "c"), _split(10), _split(5))
    small = dataset.limit(train=4, test=2)
    assert (len(small.train), len(small.test)) == (4, 2)
    assert dataset.train.class_counts(3).tolist() == [4, 3, 3]


def test_validation_split_is_disjoint_and_seeded():
    split = Split(torch.zeros(20, 2, 2, dtype=torch.uint8), torch.arange(20, dtype=torch.int64))
    train, validation = train_validation_split(split, 5, seed=1)
    again, _ = train_validation_split(split, 5, seed=1)
    assert len(validation) == 5 and len(train) == 15
    assert set(train.labels.tolist()).isdisjoint(validation.labels.tolist())
    assert torch.equal(train.labels, again.labels)
    with pytest.raises(ValueError, match="validation_size"):
        train_validation_split(split, 20)
