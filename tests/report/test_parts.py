"""The report's parts are data: one declaration of their order, titles and sweeps; numbers derived from the order."""

import re
from dataclasses import replace
from pathlib import Path

import digitlab.report
from digitlab.experiments import load_sweep_file, open_storage
from digitlab.packaged import sweep_dir
from digitlab.report import build, parts, render_report
from tests.report.fakes import fill_store

LAB_SWEEPS = {load_sweep_file(path).name for path in sweep_dir().glob("*.toml")}
REPORT = Path(digitlab.report.__file__).parent


def test_every_lab_sweep_is_read_by_a_part_and_every_part_reads_lab_sweeps():
    assert parts.sweeps_read() == LAB_SWEEPS
    assert len({part.anchor for part in parts.PARTS}) == len(parts.PARTS)


def test_titles_are_numbered_by_their_order():
    titles = parts.numbered_titles("mnist")
    numbered = [title for title, part in zip(titles, parts.PARTS, strict=True) if part.numbered]
    assert [int(title.split(".")[0]) for title in numbered] == list(range(1, len(numbered) + 1))
    assert titles[0] == "1. The data" and titles[-2:] == ["Summary: every model side by side", "Going further"]
    assert all(not re.match(r"\d", part.heading("mnist")) for part in parts.PARTS)  # no number written into a title


def test_sweep_names_live_in_parts_only():
    """Sweep names with a dash, or 'untrained', cannot be mistaken for a model or kind: they must not be spelt elsewhere."""
    distinctive = {name for name in LAB_SWEEPS if "-" in name or name == "untrained"}
    for module in REPORT.glob("*.py"):
        if module.name == "parts.py":
            continue
        text = module.read_text(encoding="utf-8")
        spelt = {name for name in distinctive if f'"{name}"' in text or f"'{name}'" in text}
        assert not spelt, f"{module.name} names sweeps {sorted(spelt)}: declare them in report/parts.py"


def test_reordering_the_parts_renumbers_the_page(tmp_path, monkeypatch, mnist):
    url = f"sqlite:///{tmp_path}/runs.sqlite3"
    fill_store(url, mnist, only=("cnn",))
    by_anchor = {part.anchor: part for part in parts.PARTS}
    reordered = (by_anchor["data"], by_anchor["cnn"], replace(by_anchor["untrained"], anchor="guessing", title="Guessing"), by_anchor["comparison"])
    monkeypatch.setattr(parts, "PARTS", reordered)
    monkeypatch.setattr(build, "PARTS", reordered)
    html = render_report(open_storage(url), mnist)
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", html)
    assert headings[:4] == ["1. The data", "2. A convolutional network (Deel II)", "3. Guessing", "Summary: every model side by side"]
    assert "Sweep <code>untrained</code> not run yet" in html
