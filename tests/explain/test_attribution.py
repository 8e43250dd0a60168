import pytest
import torch

from digitlab.errors import DigitlabError
from digitlab.explain import METHODS, attribute, methods_for
from digitlab.explain.attribution import AttributionConfig
from digitlab.models import build

from .conftest import BLOCK, SIDE, block_digits, halves_data, known_pixel_model

GRADIENT_FREE = ("saliency", "integrated_gradients", "occlusion")


def block_mask() -> torch.Tensor:
    mask = torch.zeros(SIDE, SIDE, dtype=torch.bool)
    mask[BLOCK] = True
    return mask


@pytest.mark.parametrize("method", GRADIENT_FREE)
def test_finds_the_pixels_the_answer_depends_on(method):
    images, _ = block_digits(8)
    maps = attribute(known_pixel_model(), images, method, targets=1)
    assert maps.shape == images.shape
    count = int(block_mask().sum())
    for found in maps:
        top = torch.zeros(SIDE * SIDE, dtype=torch.bool)
        top[found.flatten().topk(count).indices] = True
        # occlusion's squares overlap the block's border, so it may name a few pixels next to it
        assert (top.view(SIDE, SIDE) & block_mask()).sum() >= (0.75 if method == "occlusion" else 1.0) * count


def test_integrated_gradients_is_weight_times_input_for_a_linear_model():
    images, _ = block_digits(4)
    maps = attribute(known_pixel_model(), images, "integrated_gradients", targets=1)
    expected = images.float() / 255 * block_mask()  # the path integral of a linear score is exact
    assert torch.allclose(maps, expected, atol=1e-4)


def test_integrated_gradients_add_up_to_the_score_change(halves_cnn):
    images, labels = halves_data(8, seed=4)
    maps = attribute(halves_cnn, images, "integrated_gradients", targets=labels, config=AttributionConfig(ig_steps=64))
    with torch.no_grad():
        scores = halves_cnn(images.float() / 255).gather(1, labels[:, None])[:, 0]
        black = halves_cnn(torch.zeros(1, SIDE, SIDE))[0, labels]
    change = scores - black  # IG's completeness: the attributions sum to F(x) - F(baseline)
    assert torch.allclose(maps.sum((1, 2)), change, atol=0.05 * float(change.abs().max()))


def test_grad_cam_looks_at_the_half_that_decides(halves_cnn):
    images, labels = halves_data(32, seed=1)
    assert (halves_cnn(images.float() / 255).argmax(1) == labels).float().mean() > 0.9
    maps = attribute(halves_cnn, images, "grad_cam", targets=labels)
    assert maps.shape == images.shape and (maps >= 0).all()
    left, right = maps[:, :, : SIDE // 2].sum((1, 2)), maps[:, :, SIDE // 2 :].sum((1, 2))
    on_side = torch.where(labels == 0, left > right, right > left)
    assert on_side.float().mean() >= 0.8


def test_targets_default_to_the_models_answer(halves_mlp):
    images, _ = halves_data(8, seed=2)
    answers = halves_mlp(images.float() / 255).argmax(1)
    assert torch.equal(attribute(halves_mlp, images, "saliency"), attribute(halves_mlp, images, "saliency", targets=answers))


def test_grad_cam_needs_convolutions(halves_mlp):
    with pytest.raises(DigitlabError, match="grad_cam needs a convolutional network"):
        attribute(halves_mlp, torch.zeros(1, SIDE, SIDE), "grad_cam")
    assert methods_for(halves_mlp) == GRADIENT_FREE


def test_unknown_method_is_named():
    with pytest.raises(DigitlabError, match="unknown attribution method 'lime'"):
        attribute(known_pixel_model(), torch.zeros(1, SIDE, SIDE), "lime")


def test_model_is_left_in_the_mode_it_was_in(halves_cnn):
    halves_cnn.train()
    try:
        attribute(halves_cnn, torch.zeros(2, SIDE, SIDE), "saliency")
        assert all(module.training for module in halves_cnn.modules())
    finally:
        halves_cnn.eval()


def test_config_is_checked():
    with pytest.raises(ValueError, match="ig_steps"):
        AttributionConfig(ig_steps=0)
    assert set(METHODS) == {*GRADIENT_FREE, "grad_cam"}


@pytest.mark.parametrize("method", ["saliency", "grad_cam"])
def test_a_network_that_answers_from_both_mirror_images_gets_mirrored_maps_for_mirrored_images(method):
    torch.manual_seed(0)
    model = build("cnn", channels=[4, 8], hidden_sizes=[16], test_time_mirror=True).eval()
    images, _ = halves_data(6, seed=1)
    maps = attribute(model, images, method)
    assert maps.shape == images.shape  # one map per image, not one per view
    # The answer is the same for an image and its mirror, so the explanation must be the mirror image's too.
    torch.testing.assert_close(attribute(model, images.flip(-1), method), maps.flip(-1), rtol=1e-4, atol=1e-6)
