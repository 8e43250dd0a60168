"""What the CLI tests share: generated data registered as "mnist", and console text made comparable."""

from pathlib import Path

from tests.training.synthetic import write_synthetic


def flat(text: str) -> str:
    """The console wraps long lines (inside a box for usage errors); compare with single spaces."""
    return " ".join(text.replace("│", " ").split())


def register_synthetic_mnist(tmp_path: Path, monkeypatch, n_train: int, n_test: int) -> Path:
    """Write a generated dataset and make the CLI find it as "mnist" (it only knows the catalog's names)."""
    from digitlab.datasets import catalog

    folder = tmp_path / "data"
    monkeypatch.setitem(catalog.CATALOG, "mnist", write_synthetic(folder, n_train=n_train, n_test=n_test, name="mnist"))
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(folder))
    monkeypatch.setenv("DIGITLAB_CACHE_DIR", str(tmp_path / "cache"))
    return folder
