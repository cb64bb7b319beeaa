"""The question model's export, made once per model and copied into every index."""

from __future__ import annotations

import logging
from pathlib import Path

from index import model_cache


class CountingExport:
    """Writes a small stand-in export and counts how often it was asked to."""

    def __init__(self, text: str = "graph") -> None:
        self.calls = 0
        self.text = text

    def __call__(self, target: Path) -> None:
        self.calls += 1
        target.mkdir(parents=True, exist_ok=True)
        (target / "model.onnx").write_text(self.text)
        (target / "tokenizer.json").write_text("{}")


def test_a_second_index_copies_the_export_instead_of_making_it(tmp_path):
    export = CountingExport()
    cache = tmp_path / "cache"
    first = model_cache.place(tmp_path / "a", key="k", export=export, folder=cache)
    second = model_cache.place(tmp_path / "b", key="k", export=export, folder=cache)
    assert (first, second) == (False, True)
    assert export.calls == 1
    for index in ("a", "b"):
        assert (tmp_path / index / "model.onnx").read_text() == "graph"
        assert not (tmp_path / index / model_cache.ENTRY).exists()
    # Each index holds its own copy: damage to the cache cannot reach it.
    assert (tmp_path / "b" / "model.onnx").stat().st_ino != (
        cache / "k" / "model.onnx"
    ).stat().st_ino
    assert [p.name for p in cache.iterdir()] == ["k"]  # no temporary folder left behind


def test_a_damaged_cache_entry_is_exported_again_with_one_line(tmp_path, caplog):
    export = CountingExport()
    cache = tmp_path / "cache"
    model_cache.place(tmp_path / "a", key="k", export=export, folder=cache)
    (cache / "k" / "model.onnx").write_text("grap")  # truncated on disk
    with caplog.at_level(logging.INFO, logger="index.model_cache"):
        used = model_cache.place(tmp_path / "b", key="k", export=export, folder=cache)
    assert used is False and export.calls == 2
    assert (tmp_path / "b" / "model.onnx").read_text() == "graph"
    assert [r.getMessage().count("\n") for r in caplog.records] == [0]
    assert "damaged" in caplog.records[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)
    # The entry was replaced by an intact one: the next index copies it.
    assert model_cache.place(tmp_path / "c", key="k", export=export, folder=cache) is True
    assert export.calls == 2


def test_an_entry_missing_its_listing_is_exported_again(tmp_path):
    export = CountingExport()
    cache = tmp_path / "cache"
    model_cache.place(tmp_path / "a", key="k", export=export, folder=cache)
    (cache / "k" / model_cache.ENTRY).unlink()
    assert model_cache.place(tmp_path / "b", key="k", export=export, folder=cache) is False
    assert export.calls == 2


def test_renew_replaces_the_cached_export(tmp_path):
    cache = tmp_path / "cache"
    model_cache.place(tmp_path / "a", key="k", export=CountingExport("old"), folder=cache)
    renewed = CountingExport("new")
    model_cache.place(tmp_path / "b", key="k", export=renewed, folder=cache, renew=True)
    assert renewed.calls == 1
    assert (tmp_path / "b" / "model.onnx").read_text() == "new"
    model_cache.place(tmp_path / "c", key="k", export=renewed, folder=cache)
    assert (tmp_path / "c" / "model.onnx").read_text() == "new" and renewed.calls == 1


def test_an_unwritable_cache_still_gives_the_index_its_model(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    export = CountingExport()
    model_cache.place(tmp_path / "a", key="k", export=export, folder=blocker / "cache")
    assert (tmp_path / "a" / "model.onnx").read_text() == "graph"


def test_the_key_changes_with_the_model_files_and_name(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    key = model_cache.model_key("m", model)
    assert model_cache.model_key("m", model) == key
    assert model_cache.model_key("other", model) != key
    (model / "config.json").write_text('{"layers": 3}')
    assert model_cache.model_key("m", model) != key


def test_the_cache_lives_in_the_users_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert model_cache.default_folder() == tmp_path / "quotebot" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert model_cache.default_folder() == Path.home() / ".cache" / "quotebot" / "models"
