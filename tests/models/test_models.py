"""The networks: the notebook's two reproduced exactly, the MLP and CNN configurable, all built by name."""

import pytest
import torch
from torch import nn

from digitlab.models import CNN, MLP, MODEL_NAMES, CNNConfig, ComplexNetwork, MLPConfig, SimpleNetwork, build, summary

# The tables the notebook says students should see (Part I, step 3 and Opdracht 2.a).
NOTEBOOK_SIMPLE_ROWS = ["├─Linear: 1-1                            7,850", "Total params: 7,850", "Trainable params: 7,850"]
NOTEBOOK_COMPLEX_TABLE = """\
=================================================================
Layer (type:depth-idx)                   Param #
=================================================================
ComplexNetwork                           --
├─Linear: 1-1                            401,920
├─Linear: 1-2                            262,656
├─Linear: 1-3                            5,130
├─Sigmoid: 1-4                           --
├─Softmax: 1-5                           --
=================================================================
Total params: 669,706
Trainable params: 669,706
Non-trainable params: 0
================================================================="""


class NotebookComplexNetwork(nn.Module):
    """The notebook's ComplexNetwork as a student completes it (sigmoid hidden layers, softmax output)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 512), nn.Linear(512, 512), nn.Linear(512, 10)
        self.fn_activate, self.fn_output = nn.Sigmoid(), nn.Softmax(dim=1)

    def forward(self, x):
        return self.fn_output(self.fc3(self.fn_activate(self.fc2(self.fn_activate(self.fc1(x))))))


def test_torchinfo_tables_match_the_notebook():
    assert summary(build("complex", outputs="softmax")).strip() == NOTEBOOK_COMPLEX_TABLE
    simple_table = summary(build("simple", outputs="sigmoid"))
    assert all(row in simple_table for row in NOTEBOOK_SIMPLE_ROWS)


def test_complex_network_computes_what_the_notebooks_does():
    reference = NotebookComplexNetwork()
    ours = build("complex", outputs="softmax")
    ours.load_state_dict(reference.state_dict())  # same parameter names and shapes
    x = torch.rand(5, 784)
    torch.testing.assert_close(ours(x), reference(x))
    # The default returns the logits underneath: softmax of them is the notebook's output.
    logits = build("complex")
    logits.load_state_dict(reference.state_dict())
    torch.testing.assert_close(torch.softmax(logits(x), dim=1), reference(x))


def test_simple_network_is_one_linear_layer_with_optional_sigmoid():
    model = build("simple", outputs="sigmoid")
    x = torch.rand(4, 28, 28)
    expected = torch.sigmoid(x.reshape(4, 784) @ model.fc1.weight.T + model.fc1.bias)
    torch.testing.assert_close(model(x), expected)
    assert model.num_parameters() == 7850 and model.outputs == "sigmoid"
    assert build("simple").outputs == "logits"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_takes_square_flat_and_single_images(name):
    torch.manual_seed(0)
    model = build(name).eval()
    images = torch.rand(3, 28, 28)
    square = model(images)
    assert square.shape == (3, 10)
    torch.testing.assert_close(model(images.reshape(3, 784)), square)
    torch.testing.assert_close(model(images[0]), square[:1])  # the notebook predicts one image like this


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_reset_draws_fresh_weights(name):
    torch.manual_seed(0)
    model = build(name)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)  # stand-in for training
    assert model.reset() is model
    after = model.state_dict()
    weights = [key for key in before if key.endswith("weight") and before[key].ndim > 1]
    assert weights and all(not torch.equal(before[key], after[key]) for key in weights)  # new random draws
    for key in weights:  # ... from the same distribution as a fresh network's, not the trained values + 1
        assert after[key].abs().max() <= before[key].abs().max() * 1.5 + 1e-6


def test_build_by_name_with_overrides_and_clear_errors():
    mlp = build("mlp", hidden_sizes=[64, 32, 16], activation="gelu", dropout=0.1)
    assert isinstance(mlp, MLP) and mlp.config.hidden_sizes == (64, 32, 16)
    assert mlp.num_parameters() == (784 * 64 + 64) + (64 * 32 + 32) + (32 * 16 + 16) + (16 * 10 + 10)
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        build("resnet")
    with pytest.raises(ValueError, match="no setting 'hiden'"):
        build("mlp", hiden=[3])
    with pytest.raises(ValueError, match="activation must be one of"):
        build("mlp", activation="swish-ish")
    with pytest.raises(ValueError, match="outputs must be one of logits, sigmoid; got 'softmax'"):
        build("simple", outputs="softmax")
    with pytest.raises(ValueError, match="dropout"):
        MLPConfig(dropout=1.0)


def test_mlp_matches_complex_network_size_and_without_hidden_layers_is_linear():
    assert build("mlp").num_parameters() == ComplexNetwork().num_parameters() == 669_706
    assert build("mlp", hidden_sizes=[]).num_parameters() == SimpleNetwork().num_parameters()


def test_dropout_only_while_training():
    torch.manual_seed(0)
    model = build("mlp", hidden_sizes=[256], dropout=0.5)
    x = torch.rand(8, 784)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


def test_cnn_configurable_and_layout_does_not_change_results():
    torch.manual_seed(0)
    same = {"kernel_size": 3, "padding": "same"}
    nchw = CNN(CNNConfig(channels=(8, 16, 32), hidden_sizes=(), channels_last=False, **same)).eval()
    nhwc = CNN(CNNConfig(channels=(8, 16, 32), hidden_sizes=(), channels_last=True, **same)).eval()
    nhwc.load_state_dict(nchw.state_dict())
    x = torch.rand(4, 28, 28)
    torch.testing.assert_close(nhwc(x), nchw(x), rtol=1e-4, atol=1e-5)
    assert nchw.config.feature_size == 32 * 3 * 3  # 28 -> 14 -> 7 -> 3
    with pytest.raises(ValueError, match="fewer channels"):
        CNNConfig(channels=(4, 4, 4, 4, 4), kernel_size=3)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        CNNConfig(kernel_size=4)


def test_default_cnn_is_the_small_valid_padded_network():
    config = CNNConfig()
    assert config.sides == (12, 5) and config.feature_size == 32 * 5 * 5  # 28 -> 24 -> 12 -> 10 -> 5
    model = CNN(config)
    assert model(torch.rand(3, 28, 28)).shape == (3, 10)
    assert [m.kernel_size for m in model.modules() if isinstance(m, torch.nn.Conv2d)] == [(5, 5), (3, 3)]
    assert CNNConfig(kernel_size=[3, 3]).kernel_size == (3, 3)  # JSON lists become tuples
    assert CNNConfig(padding="same", kernel_size=3).sides == (14, 7)
    assert CNNConfig(channels=(8, 16, 32)).kernel_sizes == (5, 3, 3)  # the last size repeats for further blocks
    assert CNNConfig(channels=(8,)).kernel_sizes == (5,) and CNNConfig(kernel_size=3).kernel_sizes == (3, 3)
    with pytest.raises(ValueError, match="padding must be one of"):
        CNNConfig(padding="full")
    with pytest.raises(ValueError, match="shrink a 8-pixel image to nothing"):
        CNNConfig(image_size=8)


def test_summary_with_a_batch_shows_shapes():
    table = summary(build("cnn"), batch_size=2)
    assert "[2, 10]" in table and "mult-adds" in table.lower()


def test_test_time_mirror_answers_the_mean_of_the_image_and_its_mirror():
    torch.manual_seed(0)
    mirroring = build("cnn", test_time_mirror=True).eval()
    plain = build("cnn").eval()
    plain.load_state_dict(mirroring.state_dict())
    x = torch.rand(5, 28, 28)
    torch.testing.assert_close(mirroring(x), (plain(x) + plain(x.flip(-1))) / 2)
    torch.testing.assert_close(mirroring(x.flip(-1)), mirroring(x))  # a mirrored garment gets the same answer
    mirroring.train()
    plain.train()
    torch.testing.assert_close(mirroring(x), plain(x))  # training sees each image once, as it is
    assert not CNNConfig().test_time_mirror  # digits: a mirrored 2 is no 2


def test_test_time_shifts_weigh_the_moved_views_half_and_move_maps_back_onto_the_image():
    from digitlab.models.cnn import view

    config = CNNConfig(test_time_mirror=True, test_time_shift=1)
    assert config.test_time_views[0] == (0, False) and len(config.test_time_views) == 6  # the image itself first
    assert sum(config.test_time_weights[:2]) == sum(config.test_time_weights[2:]) == 0.5
    image = torch.zeros(1, 28, 28)
    image[0, 5:9, 3:20] = torch.rand(4, 17)  # off-centre, clear of the columns a move pushes out
    model = CNN(config).eval()
    views = torch.cat([view(image, offset, mirrored) for offset, mirrored in config.test_time_views])  # what forward scores
    assert not torch.equal(views[2], image[0]) and torch.equal(views[1], image[0].flip(-1))  # (6, 28, 28)
    assert torch.equal(model.views_to_image(views), image.expand(6, 1, 28, 28))  # every view's map lands on the image
    assert model.train().views == 1 and CNN(CNNConfig()).eval().views == 1
    with pytest.raises(ValueError, match="test_time_shift must be"):
        CNNConfig(test_time_shift=-1)
