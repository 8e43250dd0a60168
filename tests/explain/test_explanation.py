import io

import torch

from digitlab.explain import METHODS, explain_knn, explain_network, explainable_knn
from digitlab.explain.deletion import faithfulness
from digitlab.explain.figures import deletion_figure, knn_figure, network_figure, weight_images_figure
from digitlab.models import build

from .conftest import block_digits, known_pixel_model


def rendered(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=40)
    return buffer.getvalue()


def test_each_architecture_shows_its_own_pictures():
    torch.manual_seed(0)
    image = block_digits(1)[0][0]
    simple = explain_network(build("simple"), image, classes=tuple("0123456789"))
    assert set(simple.attributions) == {"saliency"} and simple.weight_images is not None and simple.units is None
    mlp = explain_network(build("mlp", hidden_sizes=[16]), image)
    assert mlp.units is not None and mlp.weight_images is None and mlp.filters is None
    cnn = explain_network(build("cnn", channels=[4, 8], hidden_sizes=[16], kernel_size=3, padding="same"), image, methods=METHODS)
    assert set(cnn.attributions) == set(METHODS) and cnn.filters.shape == (4, 3, 3) and len(cnn.feature_maps) == 2
    assert cnn.target == cnn.scores.predicted
    assert abs(cnn.scores.probabilities.sum() - 1) < 1e-6
    for found in (simple, mlp, cnn):
        assert rendered(network_figure(found, "model")).startswith(b"\x89PNG")


def test_explaining_another_class():
    found = explain_network(known_pixel_model(), block_digits(1)[0][0], target=3)
    assert found.target == 3 and found.scores.predicted == 1
    assert found.scores.top(2)[0] == ("1", found.scores.probabilities[1])


def test_the_other_figures_render():
    images, labels = block_digits(16)
    model = known_pixel_model()
    found = explain_network(model, images[0])
    assert rendered(weight_images_figure([("a", found.weight_images), ("b", found.weight_images)], found.scores.classes))
    assert rendered(deletion_figure([faithfulness(model, images, labels, "saliency")], "deletion"))
    knn = explainable_knn(images, torch.arange(16) % 3)
    assert rendered(knn_figure(images[1], explain_knn(knn, images[1])))
