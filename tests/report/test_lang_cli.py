"""``digitlab report --lang``: Dutch by default for the course's datasets, English on request."""

from __future__ import annotations

import digitlab.report.build as build
from digitlab.cli.main import main
from tests.report.fakes import fill_store


def test_report_is_dutch_for_mnist_unless_asked_for_english(tmp_path, monkeypatch, store_dir, mnist):
    url = f"sqlite:///{store_dir}/lang.sqlite3"
    fill_store(url, mnist, only=("untrained",))
    monkeypatch.setattr(build, "load", lambda name, **where: mnist)
    page = tmp_path / "nl" / "mnist" / "index.html"
    assert main(["report", "--dataset", "mnist", "--storage", url, "--out", str(tmp_path / "nl")]) == 0
    assert '<html lang="nl">' in page.read_text(encoding="utf-8") and "Beredeneer welke accuracy" in page.read_text(encoding="utf-8")
    assert main(["report", "--dataset", "mnist", "--storage", url, "--out", str(tmp_path / "en"), "--lang", "en"]) == 0
    assert "What accuracy do you expect here" in (tmp_path / "en" / "mnist" / "index.html").read_text(encoding="utf-8")


def test_an_unknown_language_is_one_clear_error(tmp_path, store_dir, capsys):
    code = main(["report", "--dataset", "mnist", "--storage", f"sqlite:///{store_dir}/lang2.sqlite3", "--out", str(tmp_path), "--lang", "fr"])
    assert code == 1 and "language 'fr' is not one of nl, en" in capsys.readouterr().err
