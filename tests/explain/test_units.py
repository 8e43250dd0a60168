import pytest
import torch

from digitlab.errors import DigitlabError
from digitlab.explain import active_units, weight_images
from digitlab.models import build

from .conftest import SIDE, block_digits


def test_weight_images_are_the_output_neurons_weights_and_add_up_to_the_scores():
    torch.manual_seed(0)
    model = build("simple").eval()
    image = block_digits(1)[0][0]
    found = weight_images(model, (SIDE, SIDE), image)
    assert torch.equal(found.weights, model.fc1.weight.detach().view(10, SIDE, SIDE))
    scores = model(image.float()[None] / 255)[0]
    assert torch.allclose(found.contributions.sum((1, 2)) + found.bias, scores, atol=1e-5)


def test_weight_images_need_a_single_layer():
    with pytest.raises(DigitlabError, match="single-layer"):
        weight_images(build("mlp", hidden_sizes=[8]), (SIDE, SIDE))


@pytest.mark.parametrize(("name", "settings"), [("mlp", {"hidden_sizes": [32, 16]}), ("complex", {"hidden_sizes": [24, 24]})])
def test_active_units_are_the_first_layers_strongest(name, settings):
    torch.manual_seed(0)
    model = build(name, **settings).eval()
    image = block_digits(1)[0][0]
    found = active_units(model, image, (SIDE, SIDE), count=5)
    first = next(module for module in model.modules() if isinstance(module, torch.nn.Linear))
    activation = torch.relu if name == "mlp" else torch.sigmoid
    expected = activation(first(image.float().flatten() / 255)).detach()
    assert found.layer_size == len(expected)
    assert torch.equal(found.units, expected.topk(5).indices)
    assert torch.allclose(found.activations, expected.topk(5).values)
    assert torch.equal(found.weights, first.weight.detach()[found.units].view(5, SIDE, SIDE))


def test_active_units_need_a_hidden_layer():
    with pytest.raises(DigitlabError, match="hidden layer"):
        active_units(build("simple"), torch.zeros(SIDE, SIDE), (SIDE, SIDE))
