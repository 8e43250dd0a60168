import pytest
import torch

from digitlab.errors import DigitlabError
from digitlab.explain import feature_maps, filters
from digitlab.models import build

from .conftest import SIDE, block_digits


def test_filters_are_the_first_convolutions_kernels():
    model = build("cnn", channels=[4, 8], hidden_sizes=[16], kernel_size=3, padding="same")
    first = model.features[0][0]
    assert torch.equal(filters(model), first.weight.detach()[:, 0])


def test_feature_maps_are_each_blocks_output():
    torch.manual_seed(0)
    model = build("cnn", channels=[4, 8], hidden_sizes=[16], kernel_size=3, padding="same").eval()
    image = block_digits(1)[0][0]
    found = feature_maps(model, image)
    assert [(block.name, tuple(block.maps.shape)) for block in found] == [("features.0", (4, 14, 14)), ("features.1", (8, 7, 7))]
    with torch.no_grad():
        expected = model.features[0](image.float().view(1, 1, SIDE, SIDE) / 255)[0]
    assert torch.allclose(found[0].maps, expected, atol=1e-6)
    assert (found[1].maps >= 0).all()  # after the block's ReLU


def test_features_need_convolutions():
    with pytest.raises(DigitlabError, match="convolutional"):
        filters(build("mlp", hidden_sizes=[8]))
    with pytest.raises(DigitlabError, match="convolutional"):
        feature_maps(build("simple"), torch.zeros(SIDE, SIDE))
