"""Datasets declared by installed packages (the ``digitlab.datasets`` entry points) join the catalog at first use."""

import dataclasses
import sys
import textwrap

import pytest

from digitlab.datasets import catalog, load
from digitlab.datasets.catalog import dataset_names, get_spec
from digitlab.errors import DigitlabError


def install_fake_package(root, entry_points: str, module: str) -> None:
    """A distribution on sys.path, as pip would leave it: a module plus its dist-info with entry_points.txt."""
    (root / "fake_digitlab_plugin.py").write_text(textwrap.dedent(module))
    info = root / "fake_digitlab_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-digitlab-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[digitlab.datasets]\n{entry_points}\n")


@pytest.fixture
def fresh_catalog(monkeypatch):
    """The catalog as a new process sees it: plugins not read yet; whatever the test adds is forgotten."""
    monkeypatch.setattr(catalog, "_plugins_read", False)
    before = list(dict.items(catalog.CATALOG))  # dict.items: reading it the plain way reads no plugin
    monkeypatch.delitem(sys.modules, "fake_digitlab_plugin", raising=False)
    yield
    dict.clear(catalog.CATALOG)
    dict.update(catalog.CATALOG, before)
    sys.modules.pop("fake_digitlab_plugin", None)


def test_an_installed_plugin_dataset_is_known_and_loads(tmp_path, monkeypatch, tiny, fresh_catalog):
    spec = dataclasses.replace(tiny.spec, name="plugin-digits", title="Plugin digits")
    packages = tmp_path / "site"
    packages.mkdir()
    install_fake_package(packages, "plugin-digits = fake_digitlab_plugin:make", """

        def make():  # a function returning the entry, as a package may build it lazily
            return SPEC
        """)
    monkeypatch.syspath_prepend(str(packages))
    import fake_digitlab_plugin

    fake_digitlab_plugin.SPEC = spec
    assert "plugin-digits" not in dict.keys(catalog.CATALOG) and not catalog._plugins_read  # nothing read yet
    assert dataset_names()[-1] == "plugin-digits" and get_spec("plugin-digits") is spec
    for name, data in tiny.files.items():
        (tmp_path / name).write_bytes(data)
    dataset = load("plugin-digits", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert dataset.num_classes == spec.num_classes and dataset.image_shape == spec.image_shape


def test_a_broken_plugin_is_named_in_the_error(tmp_path, monkeypatch, fresh_catalog):
    install_fake_package(tmp_path, "broken = fake_digitlab_plugin:NOT_A_SPEC", "NOT_A_SPEC = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DigitlabError, match=r"'broken'.*fake-digitlab-plugin.*int, not a DatasetSpec"):
        get_spec("mnist")


def test_a_plugin_that_fails_to_import_says_what_to_do(tmp_path, monkeypatch, fresh_catalog):
    install_fake_package(tmp_path, "gone = fake_digitlab_plugin:SPEC", "raise ImportError('needs numpy 9')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DigitlabError, match="failed to load: needs numpy 9; fix or uninstall fake-digitlab-plugin"):
        dataset_names()
