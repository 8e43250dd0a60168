"""Probabilities from every kind of output, device choice and seeding."""

import random

import pytest
import torch

from digitlab.errors import DigitlabError
from digitlab.inference import predict_labels, predict_proba, split_accuracy, to_probabilities
from digitlab.models import build
from digitlab.training import pick_device, seed_everything
from tests.training.synthetic import synthetic_dataset


@pytest.mark.parametrize(("name", "outputs"), [("simple", "logits"), ("simple", "sigmoid"), ("complex", "softmax"), ("cnn", "logits")])
def test_probabilities_sum_to_one_whatever_the_output(name, outputs):
    torch.manual_seed(0)
    model = build(name, outputs=outputs) if name != "cnn" else build("cnn")
    images = torch.randint(0, 256, (7, 28, 28), dtype=torch.uint8)
    probabilities = predict_proba(model, images, batch_size=3)  # several batches
    assert probabilities.shape == (7, 10) and (probabilities >= 0).all()
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(7))
    torch.testing.assert_close(predict_proba(model, images.float() / 255), probabilities)
    assert torch.equal(predict_labels(model, images), probabilities.argmax(dim=1))
    assert model.training  # the caller's mode is restored


def test_logits_become_softmax():
    logits = torch.tensor([[0.0, 1.0, 2.0]])
    torch.testing.assert_close(to_probabilities(logits, "logits"), torch.softmax(logits, dim=1))
    sigmoid = torch.tensor([[0.5, 0.25, 0.25]]) * 2
    torch.testing.assert_close(to_probabilities(sigmoid, "sigmoid"), torch.tensor([[0.5, 0.25, 0.25]]))


def test_bad_images_are_explained():
    model = build("simple")
    with pytest.raises(ValueError, match=r"float images must lie in \[0, 1\]"):
        predict_proba(model, torch.full((2, 28, 28), 255.0))
    with pytest.raises(ValueError, match="must be \\(N, H, W\\)"):
        predict_proba(model, torch.zeros(2, 1, 28, 28))
    assert predict_proba(model, torch.zeros(28, 28, dtype=torch.uint8)).shape == (1, 10)  # one image


def test_split_accuracy_counts_correct_images():
    data = synthetic_dataset(n_train=4, n_test=40)
    model = build("simple", num_classes=4)
    predicted = predict_labels(model, data.test.images)
    assert split_accuracy(model, data.test) == pytest.approx(float((predicted == data.test.labels).float().mean()))


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(DigitlabError, match="no CUDA GPU"):
            pick_device("cuda")
        assert pick_device(None).type in ("cpu", "mps")
    with pytest.raises(DigitlabError, match="unknown device 'gpu-please'"):
        pick_device("gpu-please")


def test_seed_everything_repeats_every_generator():
    seed_everything(3)
    first = (random.random(), torch.rand(2))
    seed_everything(3)
    assert random.random() == first[0] and torch.equal(torch.rand(2), first[1])
    with pytest.raises(ValueError, match="seed must be an integer"):
        seed_everything(-1)


def test_a_pass_holds_batch_size_images_counting_every_test_time_view():
    from digitlab.inference.predict import predict_outputs

    torch.manual_seed(0)
    model = build("cnn", channels=[4, 8], hidden_sizes=[8], test_time_mirror=True, test_time_shift=1)  # 6 views per image
    images = torch.randint(0, 256, (10, 28, 28), dtype=torch.uint8)
    seen: list[int] = []
    hook = model.features[0].register_forward_hook(lambda _m, inputs, _o: seen.append(len(inputs[0])))
    small = predict_outputs(model, images, batch_size=12)
    hook.remove()
    assert seen == [12] * 5  # 2 images x 6 views per pass, not 12 images x 6
    torch.testing.assert_close(small, predict_outputs(model, images, batch_size=2048))
    assert model.training  # handed back as it came
