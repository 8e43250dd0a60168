"""The checks' judges (the trusted half): hostile data is a failed verdict, never a crash; every sentence exists."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import digitlab.notebooks.checks as checks_package
from digitlab.i18n import LANGUAGES, translator
from digitlab.notebooks.catalog import PREFIX
from digitlab.notebooks.checks import CHECKS, FAILED, PASSED, Truth
from digitlab.notebooks.checks.contract import ERROR_HINTS
from digitlab.notebooks.checks.knn import references

RNG = np.random.default_rng(0)
TRUTH = Truth(RNG.integers(0, 256, (300, 28, 28), dtype=np.uint8), np.arange(300) % 10,
              RNG.integers(0, 256, (100, 28, 28), dtype=np.uint8), np.arange(100) % 10)
HOSTILE = [{}, {"missing": 1}, {"shapes": "x"}, {"shapes": [[10**12]]}, {"predictions": [True] * 100}, {"predictions": list(range(99))},
           {"outputs": [[1e308] * 10] * 3, "shapes": [[10, 784], [10]]}, {"error": "text"}, {"error": {"type": None}},
           {"steps": float("nan"), "predictions": [0] * 100}, {"predictions": [[1]] * 100}, {"settings": {"n_neighbors": "x"}}]


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_a_judge_fails_hostile_data_without_raising(name):
    for data in HOSTILE:
        assert CHECKS[name].judge(data, TRUTH).status != PASSED, data


def test_knn_passes_scikit_learn_s_answers_at_any_setting_and_fails_labels_copied_without_them():
    sample, answers = references(TRUTH)
    for key in [(5, "uniform", "euclidean"), (1, "distance", "cosine"), (7, "uniform", "manhattan")]:
        predicted = np.full(len(TRUTH.test_labels), -1)
        predicted[sample] = answers[key]
        rest = np.setdiff1d(np.arange(len(predicted)), sample)
        predicted[rest] = TRUTH.test_labels[rest]
        verdict = CHECKS["knn"].judge({"predictions": predicted.tolist()}, TRUTH)
        assert verdict.params["k"] == key[0] and verdict.params["agreement"] == 1.0  # the floor may fail on random images
    copied = CHECKS["knn"].judge({"predictions": TRUTH.test_labels.tolist()}, TRUTH)
    assert copied.status == FAILED and copied.saw == "knn.differs"


def _verdict_keys() -> set[str]:
    keys = set()
    for path in Path(checks_package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Verdict":
                for position, argument in enumerate(node.args[1:3]):
                    if isinstance(argument, ast.Constant) and argument.value:
                        keys.add(("hint." if position else "") + argument.value)
    return keys | {"hint." + hint for _, hint in ERROR_HINTS} | {"hint.read-error", "hint.endless", "hint.memory", "timeout", "crashed"}


def test_every_sentence_a_verdict_names_is_in_both_catalogs():
    keys = _verdict_keys()
    assert len(keys) > 30
    for lang in LANGUAGES:
        assert not [key for key in keys if not translator(lang).has(PREFIX + key)], lang


def test_a_code_assignment_without_a_check_is_not_run_and_goes_to_the_teacher(tmp_path):
    import copy

    from digitlab.notebooks.checks import ANSWERED as READ
    from digitlab.notebooks.editions import read_notebook, student_edition, write_notebook
    from digitlab.notebooks.grading import Limits, grade, prepare

    reference = copy.deepcopy(read_notebook())
    reference["metadata"]["digitlab"]["assignments"].append({"id": "results", "title": "Tabel", "kind": "code"})
    reference["cells"].append({"cell_type": "code", "id": "results1", "metadata": {"tags": ["student"], "digitlab": {"assignment": "results"}},
                               "source": "rows = []\n### BEGIN SOLUTION\nrows.append(1)\n### END SOLUTION", "outputs": [], "execution_count": None})
    handout = student_edition(reference)
    handout["cells"][-1]["source"] = "rows = []\nimport os\nos._exit(3)  # would end any sandbox that ran it"
    context = prepare(Limits(sandbox="none"), reference, tmp_path / "inputs")
    graded = grade(write_notebook(handout, tmp_path / "anna.ipynb"), context)
    results = next(outcome for outcome in graded.outcomes if outcome.assignment == "results")
    assert results.status == READ and "os._exit(3)" in results.answer and graded.seconds < 5
