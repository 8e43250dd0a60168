import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from digitlab.errors import DigitlabError
from digitlab.explain import explain_knn, explain_knn_many, explainable_knn
from digitlab.knn import KNNPipelineConfig

SIDE = 8


def digits(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, SIDE, SIDE), generator=generator, dtype=torch.uint8), torch.randint(0, 3, (count,), generator=generator)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_neighbours_and_votes_match_scikit_learn(weights):
    train, labels = digits(200, 0)
    queries, _ = digits(5, 1)
    knn = explainable_knn(train, labels, KNNPipelineConfig(n_neighbors=4, weights=weights), classes=("a", "b", "c"))
    reference = KNeighborsClassifier(4, weights=weights).fit(train.view(200, -1).numpy().astype(float), labels.numpy())
    distances, indices = reference.kneighbors(queries.view(5, -1).numpy().astype(float))
    found = explain_knn_many(knn, queries)
    for row, votes in enumerate(found):
        assert votes.indices.tolist() == indices[row].tolist()
        assert np.allclose(votes.distances, distances[row], rtol=1e-5)
        assert votes.labels.tolist() == labels[indices[row]].tolist()
        assert np.array_equal(votes.images, train[indices[row]].numpy())
        assert np.allclose(votes.probabilities, reference.predict_proba(queries[row].view(1, -1).numpy().astype(float))[0])
        assert np.allclose(votes.probabilities, knn.pipeline.predict_proba(queries[row].view(1, -1).numpy())[0])
        expected = np.ones(4) if weights == "uniform" else 1 / distances[row]
        assert np.allclose(votes.weights, expected, rtol=1e-5)
        assert votes.classes == ("a", "b", "c")
    assert explain_knn(knn, queries[2]).indices.tolist() == found[2].indices.tolist()


def test_a_shifted_copy_is_shown_as_its_original():
    train, labels = digits(50, 2)
    knn = explainable_knn(train, labels, KNNPipelineConfig(n_neighbors=1, shifts=1))
    moved = torch.roll(train[7], shifts=1, dims=1)
    moved[:, 0] = 0  # a shift brings in background, as the training copies do
    found = explain_knn(knn, moved)
    assert found.indices.tolist() == [7] and found.distances[0] == pytest.approx(0.0, abs=1e-3)


def test_wrong_image_size_is_named():
    train, labels = digits(20, 3)
    with pytest.raises(DigitlabError, match=r"fitted on \(8, 8\) images"):
        explain_knn(explainable_knn(train, labels), torch.zeros(28, 28, dtype=torch.uint8))
