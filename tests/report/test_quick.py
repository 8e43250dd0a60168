"""A page built from ``digitlab lab --quick`` runs says what was cut and reads nothing into its numbers."""

from __future__ import annotations

import re

import pytest

from digitlab.experiments import load_sweep_file, open_storage, run_grid
from digitlab.experiments.sweep import QUICK_TEST_LIMIT, quicken
from digitlab.report import render_report
from tests.report.fakes import LAB_CONFIGS, make_evaluate

# Enough for an answer, a seeds comparison, a batch-size reading and the summary's choice of a best model.
SWEEPS = ("untrained", "simple-notebook", "simple-logits", "simple-seeds", "cnn")
CONCLUSIONS = ("within the spread of the seeds", "larger than the spread of the seeds", "At 1 epoch batch size", "the best is the")


@pytest.fixture(scope="module")
def quick_page(store_dir, mnist) -> str:
    url = f"sqlite:///{store_dir}/quick.sqlite3"
    storage, evaluate = open_storage(url), make_evaluate(mnist)
    for path in sorted(LAB_CONFIGS.glob("*.toml")):
        sweep = load_sweep_file(path, dataset="mnist")
        if sweep.name in SWEEPS:
            run_grid(quicken(sweep), storage, evaluate)
    return render_report(storage, mnist, lang="en")


def test_a_quick_page_says_what_was_cut(quick_page):
    banner = re.search(r"Quick run \(digitlab lab --quick\): every network trained 1 epoch on ([\d,]+) training images", quick_page)
    assert banner and f"tested on {QUICK_TEST_LIMIT:,} test images" in quick_page


def test_a_quick_page_answers_nothing_and_concludes_nothing(quick_page):
    answers = re.findall(r'<div class="answer">.*?</h4>(.*?)</div>', quick_page, flags=re.S)
    assert answers and all(answer.strip().startswith("<p>No answer from a quick run") for answer in answers), answers
    assert "Settings that differ between runs" in quick_page  # the facts stay: what the two runs differ in
    assert not [text for text in CONCLUSIONS if text in quick_page]
