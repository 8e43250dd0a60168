import numpy as np
import pytest
import torch

from digitlab.explain import deletion_curve, faithfulness, random_order
from digitlab.explain.deletion import DeletionCurve, attribution_order, fractions, network_predict

from .conftest import block_digits, known_pixel_model


def test_deleting_the_attributed_pixels_beats_deleting_random_ones():
    images, labels = block_digits(32)
    for method in ("saliency", "integrated_gradients", "occlusion"):
        result = faithfulness(known_pixel_model(), images, labels, method)
        assert result.curve.accuracy[0] == 1.0 == result.random.accuracy[0]
        assert result.area < 0.5 * result.random_area, method
        assert result.ratio < 0.5 and result.images == 32


def test_curve_deletes_pixels_in_the_given_order():
    images = torch.full((2, 2, 2), 255, dtype=torch.uint8)
    order = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0]])
    seen = []

    def predict(changed):
        seen.append(changed.clone())
        return torch.zeros(len(changed), dtype=torch.long)

    curve = deletion_curve(predict, images, torch.zeros(2, dtype=torch.long), order, np.array([0.0, 0.25, 0.5]))
    assert np.array_equal(curve.accuracy, [1.0, 1.0, 1.0])
    assert seen[1][0].flatten().tolist() == [0, 1, 1, 1] and seen[1][1].flatten().tolist() == [1, 1, 1, 0]
    assert seen[2][0].flatten().tolist() == [0, 0, 1, 1]


def test_area_is_the_mean_accuracy_by_the_trapezoid_rule():
    curve = DeletionCurve(np.array([0.0, 0.25, 0.5]), np.array([1.0, 0.5, 0.0]))
    assert curve.area == pytest.approx(0.5)
    assert DeletionCurve(np.array([0.0, 0.5]), np.array([0.8, 0.8])).area == pytest.approx(0.8)


def test_orders_are_permutations():
    order = random_order(5, 16, seed=1)
    assert torch.equal(order.sort(dim=1).values, torch.arange(16).expand(5, 16))
    assert torch.equal(random_order(5, 16, seed=1), order)
    maps = torch.tensor([[[0.1, 0.9], [0.5, 0.0]]])
    assert attribution_order(maps).tolist() == [[1, 2, 0, 3]]


def test_fractions_are_checked():
    assert fractions(4, 0.4).tolist() == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="max_fraction"):
        fractions(4, 1.5)


def test_network_predict_matches_argmax():
    images, _ = block_digits(4)
    model = known_pixel_model()
    assert network_predict(model)(images.float() / 255).tolist() == [1, 1, 1, 1]
