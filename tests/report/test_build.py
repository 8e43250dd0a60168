"""The report from a store of fake runs: every part is there, every number links to its run, answers follow the runs."""

from __future__ import annotations

import base64
import io
import re

import optuna
import pytest
from PIL import Image

from digitlab.errors import DigitlabError
from digitlab.experiments import ExperimentConfig, SweepSpec, list_runs, load_sweep_file, open_storage, run_grid
from digitlab.experiments.store import config_value, load_sweeps
from digitlab.report import build_report, comparison_rows, render_report
from digitlab.report.compare import AUGMENTATION, PLAIN
from digitlab.report.links import percent, seconds
from tests.report.fakes import LAB_CONFIGS, fill_store, make_evaluate

PARTS = ("data", "untrained", "simple", "complex", "cnn", "robustness", "knn", "other-dataset", "comparison", "runs")
LAB_SWEEPS = ("untrained", "simple-notebook", "simple-logits", "complex-notebook", "complex-logits", "complex-hidden", "mlp-layers", "mlp-best",
              "cnn", "knn", "knn-preprocess", "knn-scaling", "knn-best")
FIGURES = ("mnist: nine random training images", "mnist: images per class", "test accuracy against epochs",
           "training time against epochs", "SimpleNetwork: loss and accuracy per epoch",
           "SimpleNetwork: the first 9 rightly predicted", "SimpleNetwork: the first 9 wrongly predicted",
           "ComplexNetwork: loss and accuracy", "test accuracy against neurons per hidden layer", "CNN: loss and accuracy",
           "k-NN test accuracy against k", "confusion matrix of the best k-NN",
           "k-NN predict and fit seconds against training-set size")
LINK = re.compile(r'href="#run-(\d+)"')
ANCHOR = re.compile(r'id="run-(\d+)"')


def linked(run_id: int, text: str) -> re.Pattern:
    """A number rendered as a link to run ``run_id``."""
    return re.compile(rf'<a class="run" href="#run-{run_id}"[^>]*>{re.escape(text)}</a>')


def answers(html: str) -> list[str]:
    return re.findall(r'<div class="answer">(.*?)</div>', html, flags=re.S)


def mnist_runs(url: str, sweep: str):
    return load_sweeps(open_storage(url), "mnist")[sweep].runs


def test_report_has_every_part_of_the_notebook(mnist_html):
    for anchor in PARTS:
        assert f'<section id="{anchor}">' in mnist_html
        assert f'href="#{anchor}"' in mnist_html  # in the table of contents
    assert "60,000 training" not in mnist_html and "90 training and 120 test images" in mnist_html  # the data given, not real MNIST
    assert "<pre>" in mnist_html  # the pixel matrix


def test_every_link_resolves_and_every_run_is_cited(mnist_html, lab_url):
    links, anchors = set(map(int, LINK.findall(mnist_html))), list(map(int, ANCHOR.findall(mnist_html)))
    assert len(anchors) == len(set(anchors)), "an appendix entry appears twice"
    assert links == set(anchors)
    storage = open_storage(lab_url)
    mnist_ids = {run.id for sweep in load_sweeps(storage, "mnist").values() for run in sweep.runs}
    grid_points = sum(len(load_sweep_file(path).points()) for path in LAB_CONFIGS.glob("*.toml"))
    assert len(mnist_ids) == grid_points and mnist_ids <= links  # every run of the lab shows up somewhere


def test_each_accuracy_and_time_links_to_the_run_that_produced_it(mnist_html, lab_url):
    for run in list_runs(open_storage(lab_url)):
        if run.config["dataset"] != "mnist":
            continue
        unchanged = run.result.get("robustness", {}).get("shift", {}).get("0")  # a changed-set run may show only its own images' score
        assert any(linked(run.id, percent(value)).search(mnist_html) for value in (run.metrics["test_accuracy"], unchanged) if value), run.study
    for run in mnist_runs(lab_url, "simple-notebook"):  # the epochs x batch size table shows both numbers
        assert linked(run.id, seconds(run.metrics["train_seconds"])).search(mnist_html)


def test_opdracht_1_answer_names_the_quickest_setting_to_reach_92_percent(mnist_html, lab_url):
    runs = mnist_runs(lab_url, "simple-notebook")
    reaching = [run for run in runs if run.metrics["test_accuracy"] >= 0.92]
    assert 0 < len(reaching) < len(runs)  # the fake makes this a real choice
    quickest = min(reaching, key=lambda run: run.metrics["train_seconds"])
    text = next(answer for answer in answers(mnist_html) if "Opdracht 1" in answer)
    assert f"{len(reaching)} of {len(runs)} settings reach 92%" in text
    tail = text.split("The quickest to train is", 1)[1]
    assert f"{config_value(quickest.config, 'train_config.epochs')} epochs, batch size " \
           f"{config_value(quickest.config, 'train_config.batch_size')}" in tail
    assert linked(quickest.id, percent(quickest.metrics["test_accuracy"])).search(tail)


@pytest.mark.parametrize("goal", [0.95, 0.98])
def test_opdracht_2_answer_follows_the_runs(mnist_html, lab_url, goal):
    sweeps = load_sweeps(open_storage(lab_url), "mnist")
    # Opdracht 2b in the course's own setup: the notebook's network over epochs and batch sizes, output layers and widths
    course_outputs = sweeps["complex-notebook"].runs[0].spec.model_config.outputs  # the notebook's softmax: seeds also train others
    runs = [run for name in ("complex-notebook", "complex-seeds", "complex-hidden") for run in sweeps[name].runs
            if run.spec.model_config.outputs == course_outputs]
    reaching = [run for run in runs if run.metrics["test_accuracy"] >= goal]
    text = next(answer for answer in answers(mnist_html) if "Opdracht 2b" in answer)
    sentence = text.split(f"{goal * 100:g}%?", 1)[1].split("</p>", 1)[0]
    assert f"{len(reaching)} of {len(runs)} settings reach {goal * 100:g}%" in sentence
    quickest = min(reaching, key=lambda run: (run.metrics["train_seconds"], run.id))
    assert f'href="#run-{quickest.id}"' in sentence


def test_untrained_part_explains_the_chance_level(mnist_html, lab_url, mnist):
    text = next(answer for answer in answers(mnist_html) if "What accuracy do you expect here" in answer)
    runs = mnist_runs(lab_url, "untrained")
    for run in runs:  # each seed in the table, linked
        favourite = config_value(run.config, "seed") % 10  # the fake predicts this class for everything
        share_of_class = float((mnist.test.labels == favourite).float().mean())
        assert linked(run.id, percent(run.metrics["test_accuracy"])).search(section_of(mnist_html, "untrained"))
        assert run.metrics["test_accuracy"] == pytest.approx(share_of_class)
    scores = [run.metrics["test_accuracy"] for run in runs]  # the answer: their mean, lowest to highest
    assert f"{percent(sum(scores) / len(scores))} on average" in text
    lowest, highest = min(runs, key=lambda run: run.metrics["test_accuracy"]), max(runs, key=lambda run: run.metrics["test_accuracy"])
    for run in (lowest, highest):
        assert linked(run.id, percent(run.metrics["test_accuracy"])).search(text)
    assert "About 10%: with random weights the network guesses one of the 10 classes" in text
    further = section_of(mnist_html, "further")  # the why: a fixed function of the pixels, the chance formula, macro accuracy
    assert "fixed function of the pixels" in further and "MulticlassAccuracy" in further
    assert 'alt="confusion matrix of the untrained network' in further and 'href="#further-guessing"' in text


def test_knn_part_shows_confusion_and_timings(mnist_html, lab_url):
    section = mnist_html.split('<section id="knn">', 1)[1].split("</section>", 1)[0]
    assert 'alt="confusion matrix of the best k-NN' in section
    best = load_sweeps(open_storage(lab_url), "mnist")["knn"].best()
    assert linked(best.id, seconds(best.metrics["predict_seconds"])).search(section)
    assert "1920 x 1080" in section and "2,645" in section and "7,935" not in section  # one factor: 2,073,600 / 784 pixels
    for run in mnist_runs(lab_url, "knn-scaling"):
        assert linked(run.id, seconds(run.metrics["predict_seconds"])).search(section)
    most_accurate = load_sweeps(open_storage(lab_url), "mnist")["knn-best"].best()  # its settings read from the run
    assert linked(most_accurate.id, percent(most_accurate.metrics["test_accuracy"])).search(section)
    further = section_of(mnist_html, "further")  # how: beyond the course, linked from the k-NN part
    assert 'href="#further-knn"' in section and "LeCun" not in section
    assert linked(most_accurate.id, seconds(most_accurate.metrics["predict_seconds"])).search(further)
    assert "LeCun" in further and "98.78%" in further and "re-ranked by the image distortion model" in further


def test_other_dataset_part_compares_with_fashion_mnist(mnist_html, lab_url):
    section = mnist_html.split('<section id="other-dataset">', 1)[1].split("</section>", 1)[0]
    assert "Fashion-MNIST test accuracy" in section and 'href="../fashion-mnist/index.html"' in section
    fashion_knn = load_sweeps(open_storage(lab_url), "fashion-mnist")["knn"].best()
    assert linked(fashion_knn.id, percent(fashion_knn.metrics["test_accuracy"])).search(section)


def test_images_are_embedded_pngs_and_nothing_is_fetched(mnist_html):
    for alt in FIGURES:
        assert f'alt="{alt}' in mnist_html
    sources = re.findall(r'<img src="([^"]+)"', mnist_html)
    assert len(sources) >= len(FIGURES)
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))) as picture:
            assert picture.format == "PNG" and picture.width > 100
    assert not re.search(r'(src|href)="(?!#|data:image/png|\.\./fashion-mnist/)', mnist_html)
    assert "<script" not in mnist_html and "<link" not in mnist_html and "url(" not in mnist_html


def test_missing_sweeps_get_a_note_not_a_crash(tmp_path, mnist):
    url = f"sqlite:///{tmp_path}/runs.sqlite3"
    fill_store(url, mnist, only=("mlp-best",))
    html = render_report(open_storage(url), mnist)
    for name in LAB_SWEEPS:
        if name != "mlp-best":
            assert f"Sweep <code>{name}</code> not run yet: <code>digitlab lab --dataset mnist</code>" in html
    assert "Sweep <code>robustness</code> not run yet" in html
    assert "No runs on both datasets yet" in html
    assert set(LINK.findall(html)) == set(ANCHOR.findall(html)) != set()


def test_an_empty_store_gives_a_page_of_notes(tmp_path, mnist):
    html = render_report(open_storage(f"sqlite:///{tmp_path}/empty.sqlite3"), mnist)
    assert "Nothing run yet" in html and not ANCHOR.findall(html)
    assert comparison_rows(open_storage(f"sqlite:///{tmp_path}/empty.sqlite3"), "mnist") == []


def test_comparison_rows_hold_each_sweeps_best_run_by_validation(lab_url):
    storage = open_storage(lab_url)
    rows = comparison_rows(storage, "mnist")
    assert [row["sweep"] for row in rows] == [name for name in LAB_SWEEPS if name != "knn-scaling"] + ["robustness"]
    augmented = rows.pop()  # the augmented row is the augmented CNN, whatever validation says
    run = next(run for run in mnist_runs(lab_url, "robustness")
               if run.config["model"] == "cnn" and run.config["train_config"]["augment"] == AUGMENTATION)
    assert augmented["run_id"] == run.id
    for row in rows:
        study = next(name for name in optuna.get_all_study_names(storage) if name.startswith(f"{row['sweep']}@mnist#"))
        best = optuna.load_study(study_name=study, storage=storage).best_trial  # Optuna's own pick: highest objective
        assert row["run_id"] == best._trial_id
        assert row["test_accuracy"] == best.user_attrs["result"]["metrics"]["test_accuracy"]
    knn = next(row for row in rows if row["sweep"] == "knn")
    assert knn["num_parameters"] is None and knn["train_seconds"] is not None  # k-NN's fit time stands in


def test_the_latest_study_of_a_sweep_wins(tmp_path, mnist):
    storage = open_storage(f"sqlite:///{tmp_path}/runs.sqlite3")
    evaluate = make_evaluate(mnist)
    for limit in (500, 1000):  # same name and dataset, different settings: two studies
        run_grid(SweepSpec("cnn", ExperimentConfig(model="cnn", train_limit=limit, validation_size=100), {"seed": [0]}), storage,
                 evaluate)
    chosen = load_sweeps(storage, "mnist")["cnn"]
    assert chosen.base["train_limit"] == 1000 and len(chosen.runs) == 1


def test_build_report_writes_index_html_and_checks_the_dataset(tmp_path, mnist, fashion):
    storage = open_storage(f"sqlite:///{tmp_path}/empty.sqlite3")
    path = build_report(storage, "mnist", tmp_path / "reports" / "mnist", mnist)
    assert path == tmp_path / "reports" / "mnist" / "index.html" and path.stat().st_mode & 0o044
    assert [p.name for p in path.parent.iterdir()] == ["index.html"]  # no temp file left behind
    with pytest.raises(DigitlabError, match="fashion-mnist"):
        build_report(storage, "mnist", tmp_path / "reports" / "mnist", fashion)


def test_fashion_report_has_the_same_parts_with_class_names(lab_url, fashion, tmp_path):
    html = build_report(open_storage(lab_url), "fashion-mnist", tmp_path, fashion).read_text(encoding="utf-8")
    for anchor in PARTS:
        assert f'<section id="{anchor}">' in html
    assert "Ankle boot" in html and "8. Compared with MNIST" in html and "MNIST test accuracy" in html
    assert set(LINK.findall(html)) == set(ANCHOR.findall(html))
    # The CNN answers from the views its stored spec names (the dataset's catalog entry): said where they apply only.
    views = "It answers from 6 views of every test image (the image, its left-right mirror, each moved 1 px left and right)"
    assert views in html


def test_a_cnn_that_answers_from_the_image_alone_gets_no_views_sentence(mnist_html):
    assert "answers from" not in mnist_html and "views of every test image" not in mnist_html


def section_of(html: str, anchor: str) -> str:
    return html.split(f'<section id="{anchor}">', 1)[1].split("</section>", 1)[0]


def test_robustness_part_compares_plain_augmented_and_knn_runs(mnist_html, lab_url):
    """Sweep 12 trains both networks with one preset, without and with augmentation: each comparison differs in one setting."""
    section = section_of(mnist_html, "robustness")
    sweeps = load_sweeps(open_storage(lab_url), "mnist")
    runs = {(run.config["model"], run.config["train_config"]["augment"]): run for run in sweeps["robustness"].runs}
    knn = sweeps["robustness-knn"].runs[0]
    for label in ("MLP", "CNN", "MLP + augmentation (shift, rotation, scale, negative)", "k-NN (k=3, 9,000 training images)"):
        assert f"<th scope=\"row\">{label}</th>" in section
    for run in (*runs.values(), knn):  # the headline cells: unchanged (the same test images), shifted 4 px, inverted
        for value in (run.result["robustness"]["shift"]["0"], run.result["robustness"]["shift"]["4"], run.result["robustness"]["invert"]["1"]):
            assert linked(run.id, percent(value)).search(section), (run.id, value)
    assert "shifted 4 px" in section and "turned 20°" in section and "model \\ shift (pixels, random direction)" in section
    assert 'alt="test accuracy against shift, rotation' in section
    answer = " ".join(answers(section))
    assert "Trained without extra augmentation (no changes at all), the MLP against the CNN: " \
           "shifted 4 px: " in answer
    assert "helps against those changes" in answer and "But not against changes it never saw" in answer
    assert "Each of these 4 pairs differs in exactly one setting" in answer and "Settings that differ" not in answer
    best_plain = max((runs["mlp", PLAIN], runs["cnn", PLAIN], knn), key=lambda run: run.result["robustness"]["invert"]["1"])
    assert "No model that never saw an inverted image copes with inversion" in answer
    assert linked(best_plain.id, percent(best_plain.result["robustness"]["invert"]["1"])).search(answer)
    assert "What does work is showing inverted images in training" in answer
    cnn = runs["cnn", AUGMENTATION]  # inverted against unchanged on the same test images, not the whole test set
    assert linked(cnn.id, percent(cnn.result["robustness"]["shift"]["0"])).search(answer.split("What does work", 1)[1])
    assert cnn.result["robustness"]["shift"]["0"] != cnn.metrics["test_accuracy"]
    short = re.search(r'<p class="short">(.*?)</p>', section, flags=re.S).group(1)  # the course's point, with the numbers
    mlp, augmented = runs["mlp", PLAIN], runs["mlp", AUGMENTATION]
    assert short.startswith("Only for the changes it trained on: augmentation takes the MLP from ") and "but on a new change" in short
    assert linked(augmented.id, percent(augmented.result["robustness"]["invert"]["1"])).search(short)  # the fake's largest gain
    assert any(linked(mlp.id, percent(mlp.result["robustness"][change]["0.3"])).search(short) for change in ("noise", "background"))


def test_summary_settings_say_what_each_row_ran(mnist_html):
    summary = section_of(mnist_html, "comparison")
    assert "k = 3, votes weighted by distance, euclidean distance" in summary or "k = 3, equal votes" in summary
    assert "augmentation: shift, rotation, scale, negative" in summary and "augment shift" not in summary
    assert "votes votes" not in summary and "seed 0" not in summary


def test_robustness_inversion_answer_follows_the_numbers(tmp_path, mnist):
    """When a plain network does cope with inversion, the report says so instead of the usual story."""
    storage = open_storage(f"sqlite:///{tmp_path}/runs.sqlite3")
    fake = make_evaluate(mnist)

    def evaluate(config, report):
        result = fake(config, report)
        return {**result, "robustness": {"invert": {"0": 0.99, "1": 0.95}, "shift": {"0": 0.99, "4": 0.5}}}

    run_grid(SweepSpec("robustness", ExperimentConfig(model="mlp"), {"seed": [0]}), storage, evaluate)
    section = section_of(render_report(storage, mnist), "robustness")
    run = load_sweeps(storage, "mnist")["robustness"].runs[0]
    assert "MLP copes with inversion without seeing inverted images in training" in section and "No model that never saw" not in section
    assert linked(run.id, percent(0.95)).search(section) and "--augment shift,rotate,scale,invert" in section


def test_robustness_answer_admits_when_inverted_training_falls_short(tmp_path, mnist):
    storage = open_storage(f"sqlite:///{tmp_path}/runs.sqlite3")
    fake = make_evaluate(mnist)

    def scored(config, report):
        invert = 0.55 if config.train_config.get("augment") else 0.08
        return {**fake(config, report), "robustness": {"invert": {"0": 0.9, "1": invert}}}

    run_grid(SweepSpec("robustness", ExperimentConfig(model="cnn"), {"train_config.augment": ["", "invert"]}), storage, scored)
    section = section_of(render_report(storage, mnist), "robustness")
    assert "No model that never saw an inverted image copes with inversion" in section
    assert "Even with inverted images in training, the best, CNN + augmentation (negative), gets only" in section
    assert "What does work" not in section and "not run yet" not in section


def test_both_pages_answer_deel_iv_from_mnist_to_fashion_mnist(mnist_html, lab_url, fashion):
    # the Fashion-MNIST page compares with MNIST too: its answer must not read "from Fashion-MNIST to MNIST ... loses"
    fashion_html = render_report(open_storage(lab_url), fashion, "en")
    sentence = re.compile(r"From (?:MNIST|Fashion-MNIST) to [^,]*, the .*? loses most \(.*?\)")
    said = [sentence.findall(re.sub(r"<[^>]+>", "", html)) for html in (mnist_html, fashion_html)]
    assert len(said[0]) == 1 and said[0] == said[1] and said[0][0].startswith("From MNIST to Fashion-MNIST"), said
