"""The checks of the course's experiments: a results table the student filled with their own runs.

What each assignment asks for is data (digitlab.notebooks.checks.experiments.EXPERIMENTS, which the grader
judges by too); one function checks any of them, in the notebook, for the student's immediate feedback. A table
passes when every row is a run made in this kernel (its settings and accuracy are in the run log), the
settings the assignment asks to vary take at least two values, and one row, run again here by the checker,
gives the accuracy the table claims: a number typed in, or copied from somewhere else, does not pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from digitlab.course.facts import NUMBERS
from digitlab.course.runs import Score, run_again, run_log
from digitlab.course.table import TableError, rows_of
from digitlab.notebooks.checks.experiments import EXPERIMENTS, Experiment

MATCH_TOLERANCE = 0.0005  # a row's accuracy may be rounded to 0.1 percentage point and still be its run's
RERUN_TOLERANCE = 0.002  # the same setting run again: equal on one machine; this allows other thread counts


VARY_HINTS = {
    "epochs": "probeer minstens twee verschillende aantallen epochs",
    "batch_size": "probeer minstens twee verschillende batch sizes",
    "layers": "probeer minstens twee netwerken met andere lagen of aantallen neuronen (bijvoorbeeld 10 in plaats van 512)",
    "k": "probeer minstens twee waarden van k",
    "metric": "probeer minstens twee afstandsfuncties (metric), bijvoorbeeld 'euclidean' en 'cosine'",
    "model": "train minstens twee soorten modellen (bijvoorbeeld een netwerk en k-NN)",
}


@dataclass(frozen=True)
class Verdict:
    """A check's outcome: 'passed', 'failed' or 'open' (not filled in), with what the student reads (Dutch)."""

    status: str
    message: str


def _same(row_value: Any, run_value: Any) -> bool:
    if isinstance(run_value, tuple) and isinstance(row_value, list | tuple):
        return tuple(row_value) == run_value
    return row_value == run_value


def _run_of(row: dict[str, Any], logged: list[Score]) -> Score | None:
    """The logged run this row reports: the same accuracy and no setting that differs."""
    for score in logged:
        if abs(score.accuracy - row["accuracy"]) <= MATCH_TOLERANCE and \
                all(_same(row[key], score.settings[key]) for key in row if key in score.settings):
            return score
    return None


def _percent(value: float) -> str:
    return NUMBERS.percent(value)


def _matched(spec: Experiment, rows: list[dict[str, Any]]) -> tuple[list[Score], str | None]:
    logged, matched = run_log(), []
    for number, row in enumerate(rows, start=1):
        score = _run_of(row, logged)
        if score is None:
            return [], (f"rij {number} (accuracy {_percent(row['accuracy'])}) komt uit geen enkele run in deze kernel: "
                        "zet de uitkomst van train_and_score / knn_and_score in je tabel, niet een overgetypt getal "
                        "(of draai je cel opnieuw na een herstart van de kernel)")
        if score.settings.get("dataset") != spec.dataset:
            return [], f"rij {number} is een run op {score.settings.get('dataset')}; deze opdracht gaat over {spec.dataset} (data=...)"
        is_knn = score.settings.get("model") == "k-NN"
        if spec.kind != "any" and is_knn != (spec.kind == "knn"):
            wanted = "knn_and_score" if spec.kind == "knn" else "train_and_score"
            return [], f"rij {number} is geen run van deze opdracht: gebruik {wanted}"
        matched.append(score)
    return matched, None


def _compared(spec: Experiment, matched: list[Score]) -> tuple[list[Score], str | None]:
    if spec.on is None:
        return matched, None
    compared = [score for score in matched if score.settings.get("on") == spec.on]
    if not compared:
        return [], (f"je vergelijkt instellingen op de testset: kies k en de afstand op de {spec.on}set "
                    f"(on='{spec.on}'), en meet alleen je beste instelling op de testset")
    return compared, None


def _cheapest(scores: list[Score]) -> Score:
    def cost(score: Score) -> float:
        settings = score.settings
        if settings.get("model") == "k-NN":
            return settings["train_size"] * (1 if settings["metric"] != "manhattan" else 20)
        return settings["epochs"] * settings["parameters"] * settings["train_size"]
    return min(scores, key=cost)


def check_experiment(assignment: str, namespace: dict[str, Any]) -> Verdict:
    """Check the results table of ``assignment`` in ``namespace`` (the notebook's names)."""
    spec = EXPERIMENTS[assignment]
    table = namespace.get(spec.table)
    if table is None or (hasattr(table, "__len__") and len(table) == 0):
        return Verdict("open", f"nog niet ingevuld: zet je runs in {spec.table}")
    try:
        rows = rows_of(table)
    except TableError as error:
        return Verdict("failed", f"{spec.table}: {error}")
    matched, problem = _matched(spec, rows)
    compared, problem = (matched, problem) if problem else _compared(spec, matched)
    if problem:
        return Verdict("failed", f"{spec.table}: {problem}")
    for key in spec.vary:
        values = {repr(score.settings.get(key)) for score in compared}
        if len(values) < 2:
            return Verdict("failed", f"{spec.table}: alle runs hebben dezelfde {key}; {VARY_HINTS[key]}")
    sample = _cheapest(matched)
    again = run_again(sample)
    if again is None or abs(again - sample.accuracy) > RERUN_TOLERANCE:
        found = "niet opnieuw te draaien" if again is None else f"geeft opnieuw gedraaid {_percent(again)}"
        return Verdict("failed", f"{spec.table}: de run met accuracy {_percent(sample.accuracy)} {found}: "
                                 "komen je getallen uit je eigen runs in deze kernel?")
    varied = ", ".join(f"{key}: {len({repr(s.settings.get(key)) for s in compared})} waarden" for key in spec.vary)
    return Verdict("passed", f"{spec.table}: {len(rows)} runs ({varied}); één run opnieuw gedraaid: {_percent(again)}, klopt")
