"""``digitlab report`` on a small store, with a generated dataset standing in for the real one."""

from __future__ import annotations

import pytest

import digitlab.report.build as build
from digitlab.cli.main import main
from digitlab.datasets import load
from digitlab.experiments import open_storage
from digitlab.report import build_report
from tests.report.fakes import fill_store


def test_report_command_writes_one_page_per_dataset(tmp_path, monkeypatch, capsys, store_dir, mnist, fashion):
    url = f"sqlite:///{store_dir}/cli.sqlite3"
    fill_store(url, mnist, only=("cnn",))
    given = {"mnist": mnist, "fashion-mnist": fashion}
    monkeypatch.setattr(build, "load", lambda name, **where: given[name])
    code = main(["report", "--dataset", "all", "--storage", url, "--out", str(tmp_path / "reports")])
    assert code == 0
    for name in given:
        page = tmp_path / "reports" / name / "index.html"
        assert page.is_file() and "<h1>digitlab-rapport: " in page.read_text(encoding="utf-8")  # the course's datasets: Dutch
    assert "mnist: wrote" in capsys.readouterr().out


def test_report_command_names_a_bad_store(tmp_path, capsys):
    code = main(["report", "--dataset", "mnist", "--storage", "nosuchdb://x", "--out", str(tmp_path)])
    assert code == 1 and "cannot open the results store" in capsys.readouterr().err


@pytest.mark.realdata
def test_report_on_real_mnist(tmp_path, store_dir):
    mnist = load("mnist")
    url = f"sqlite:///{store_dir}/real.sqlite3"
    fill_store(url, mnist.limit(test=500), only=("untrained", "simple-notebook"))  # predictions for 500 test images
    html = build_report(open_storage(url), "mnist", tmp_path, mnist).read_text(encoding="utf-8")
    assert "60,000 training and 10,000 test images of 28 x 28 = 784" in html
    assert "SimpleNetwork: the first 9 rightly predicted" in html and "of the 500 test images predicted correctly" in html
    assert "Sweep <code>cnn</code> not run yet" in html and "What accuracy do you expect here, and why?" in html
