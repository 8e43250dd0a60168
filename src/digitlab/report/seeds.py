"""Noise, said once: one setting trained with several seeds, as a mean and a spread.

A seed decides a network's starting weights, the order of its batches and which training images are held
out for validation, so the same setting trained twice lands on slightly different test accuracies. The lab
trains the settings the Opdracht 1 and 2 comparisons rest on with three seeds; the report gives their mean
and spread (lowest to highest), and says so whenever a difference it shows is smaller than that spread.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from digitlab.experiments.store import Run, SweepRuns
from digitlab.report.i18n import number, t
from digitlab.report.links import Links, percent

SEED = "seed"


@dataclass(frozen=True)
class Spread:
    """Test accuracies of one setting over its seeds."""

    runs: tuple[Run, ...]  # the setting's runs, one per seed, in the order they ran

    @property
    def values(self) -> list[float]:
        return [run.metrics["test_accuracy"] for run in self.runs]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def lowest(self) -> Run:
        return min(self.runs, key=lambda run: run.metrics["test_accuracy"])

    @property
    def highest(self) -> Run:
        return max(self.runs, key=lambda run: run.metrics["test_accuracy"])

    @property
    def width(self) -> float:
        """Highest minus lowest test accuracy (a fraction): how far seeds alone move this setting."""
        return max(self.values) - min(self.values)


def spread_of(runs: list[Run]) -> Spread | None:
    """The spread of ``runs`` with a test accuracy; None with fewer than two (one seed shows no spread)."""
    scored = tuple(run for run in runs if run.metrics.get("test_accuracy") is not None)
    return Spread(scored) if len(scored) >= 2 else None


def spread_in(sweep: SweepRuns | None, settings: dict[str, object]) -> Spread | None:
    """The spread of the sweep's runs with these dotted config settings, over every seed it ran."""
    return spread_of(sweep.matching(settings)) if sweep is not None else None


def spread_text(spread: Spread, links: Links) -> Markup:
    """'91,55% (91,40% tot 91,70%, 3 seeds)', the ends linked to their runs."""
    return t("seeds.spread", mean=percent(spread.mean), low=links.accuracy(spread.lowest), high=links.accuracy(spread.highest),
             seeds=len(spread.runs))


def points(difference: float) -> str:
    """A difference of two accuracies (fractions) in percentage points, as the language writes it: 0,11."""
    return number(abs(difference) * 100)


def within(difference: float, *spreads: Spread) -> bool:
    """Whether a difference of accuracies is no larger than the widest of the spreads: seeds alone could make it."""
    return abs(difference) <= max(spread.width for spread in spreads)


def apart(first: Spread, second: Spread) -> bool:
    """Whether every seed of one setting scored above every seed of the other: no seed overlap, whatever the spread."""
    return min(first.values) > max(second.values) or min(second.values) > max(first.values)


def noise_sentence(difference: float, *spreads: Spread) -> Markup:
    """Whether a difference (fraction) is larger than what the seeds alone move these settings; two settings whose
    seeds do not overlap differ even when one of them spreads wide (one unlucky seed)."""
    widest = max(spread.width for spread in spreads)
    if not within(difference, *spreads):
        return t("seeds.beyond", difference=points(difference), spread=points(widest))
    if len(spreads) == 2 and apart(*spreads):
        return t("seeds.apart", difference=points(difference), spread=points(widest))
    return t("seeds.within", difference=points(difference), spread=points(widest))


def seed_rows(labelled: list[tuple[str, Spread]], links: Links) -> list[list]:
    """A table row per setting: its name, each seed's test accuracy (linked), then mean and spread."""
    return [[label, *(links.accuracy(run) for run in spread.runs), percent(spread.mean), points(spread.width)]
            for label, spread in labelled]


def seed_header(labelled: list[tuple[str, Spread]], first: str) -> list[str]:
    seeds = max(len(spread.runs) for _, spread in labelled)
    return [first, *(str(t("seeds.column", seed=index)) for index in range(seeds)), str(t("seeds.mean")), str(t("seeds.width"))]
