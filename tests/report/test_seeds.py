"""The sentence under a comparison over seeds: within the spread, beyond it, or apart (no seed overlaps)."""

from types import SimpleNamespace

from digitlab.report.i18n import speaking
from digitlab.report.seeds import Spread, noise_sentence


def spread(*accuracies: float) -> Spread:
    return Spread(tuple(SimpleNamespace(metrics={"test_accuracy": value}) for value in accuracies))


def test_a_difference_inside_the_spread_with_overlapping_seeds_may_be_chance():
    with speaking("en"):
        assert "seeds alone can make it" in noise_sentence(0.001, spread(0.910, 0.915), spread(0.912, 0.916))


def test_a_difference_beyond_the_spread_is_probably_not_chance():
    with speaking("en"):
        assert "larger than the spread" in noise_sentence(0.02, spread(0.910, 0.912), spread(0.930, 0.931))


def test_seeds_that_do_not_overlap_differ_even_when_one_seed_spreads_wide():
    # Fashion-MNIST's ComplexNetwork: softmax 79,25 / 85,93 / 81,87 against logits 88,33 / 88,51 / 88,37
    softmax, logits = spread(0.7925, 0.8593, 0.8187), spread(0.8833, 0.8851, 0.8837)
    with speaking("nl"):
        sentence = noise_sentence(logits.mean - softmax.mean, logits, softmax)
    assert "elke seed van de ene instelling scoort hoger" in sentence and "6,68" in sentence
