"""The index on disk: round trip, incremental updates, refusals, interrupted builds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from index import store
from index.documents import Document, load_corpus
from index.errors import IndexUnavailableError
from index.passages import sentence_spans, split_document
from index.search import Searcher


def _doc(doc_id: str, text: str) -> Document:
    paragraphs = []
    cursor = 0
    for block in text.split("\n\n"):
        paragraphs.append((cursor, cursor + len(block)))
        cursor += len(block) + 2
    return Document(doc_id, doc_id.title(), text, tuple(paragraphs))


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts, *, progress=None):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return super().encode(texts, progress=progress)


def test_sentences_are_exact_slices_inside_their_paragraph(seed_documents):
    doc = seed_documents[0]
    sentences = split_document(doc, 0)
    assert len(sentences) >= len(doc.paragraphs)
    for s in sentences:
        p_start, p_end = doc.paragraphs[s.paragraph - 1]
        assert p_start <= s.start < s.end <= p_end
        piece = doc.text[s.start : s.end]
        assert piece == piece.strip() and piece


def test_a_hard_wrapped_sentence_is_one_unit_but_a_wrapped_list_is_not():
    # What a PDF page gives: lines wrapped mid-sentence, then bullet lines.
    text = (
        "macOS 14 or higher is supported, 10.15 (Catalina) to 13 (Ventura) are\n"
        "unsupported but may work and older versions will not run it at all.\n"
        "Requirements:\n"
        "\u2022 An Apple Silicon CPU or 64-bit Intel CPU (1)\n"
        "\u2022 The Bourne-again shell for installation"
    )
    pieces = [text[a:b] for a, b in sentence_spans(text)]
    assert pieces[0].startswith("macOS 14") and "at all." in pieces[0]
    assert "are\nunsupported" in pieces[0]
    assert any(p.startswith("\u2022 An Apple") and "Bourne" not in p for p in pieces)


def test_round_trip_keeps_documents_vectors_and_answers(tmp_path, seed_documents):
    index = store.build_index(seed_documents, FakeEmbedder())
    store.save_index(index, tmp_path)
    loaded = store.load_index(tmp_path, model="fake-bow")
    assert [d.text for d in loaded.documents] == [d.text for d in seed_documents]
    assert np.allclose(loaded.vectors, index.vectors)
    question = "What did ICE call the ordinance?"
    a = Searcher(index, FakeEmbedder()).search(question).hits[0].row
    b = Searcher(loaded, FakeEmbedder()).search(question).hits[0].row
    assert a == b
    assert loaded.manifest["documents"]["denver-ordinance.md"]["paragraphs"] == 13
    assert loaded.manifest["index_kind"] == "flat"


def test_only_changed_documents_are_embedded_again(tmp_path):
    docs = [_doc("a.txt", "Alpha one.\n\nAlpha two is here."), _doc("b.txt", "Beta one is here.")]
    first = CountingEmbedder()
    index = store.build_index(docs, first)
    store.save_index(index, tmp_path)
    previous = store.load_index(tmp_path)
    docs[1] = _doc("b.txt", "Beta one changed its words.")
    second = CountingEmbedder()
    updated = store.build_index(docs, second, previous=previous)
    assert second.texts == ["Beta one changed its words."]
    assert updated.manifest["reused_documents"] == 1


def test_index_built_with_another_model_refuses_to_load(tmp_path, seed_documents):
    store.save_index(store.build_index(seed_documents, FakeEmbedder()), tmp_path)
    with pytest.raises(IndexUnavailableError) as err:
        store.load_index(tmp_path, model="all-MiniLM-L6-v2")
    message = str(err.value)
    assert "fake-bow" in message and "quotebot index --rebuild" in message
    assert "\n" not in message


def test_a_rebuild_renews_the_question_model_an_update_keeps(tmp_path, seed_documents):
    """An update reuses the exported question model; `quotebot index --rebuild` exports
    it again, so a rebuilt index answers with the model as this version exports it."""

    def exporter(version: str):  # type: ignore[no-untyped-def]
        def export(target: Path) -> None:
            target.mkdir(parents=True, exist_ok=True)
            (target / "model.onnx").write_text(version)

        return export

    def saved(version: str, reuse: bool) -> str:
        index = store.build_index(seed_documents, FakeEmbedder())
        live = store.save_index(index, tmp_path, export_model=exporter(version), reuse_model=reuse)
        return (live / "model" / "model.onnx").read_text()

    assert saved("float", reuse=True) == "float"
    assert saved("8-bit", reuse=True) == "float"  # an update keeps the export it has
    assert saved("8-bit", reuse=False) == "8-bit"  # a rebuild renews it


def test_other_format_version_refuses_to_load(tmp_path, seed_documents):
    live = store.save_index(store.build_index(seed_documents, FakeEmbedder()), tmp_path)
    manifest = json.loads((live / "manifest.json").read_text())
    manifest["format_version"] = 99
    (live / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexUnavailableError, match="format 99.*--rebuild"):
        store.load_index(tmp_path)


@pytest.mark.parametrize("damage", ["vectors.npy", "manifest.json", "bm25", "dense.faiss"])
def test_corrupted_index_gives_a_one_line_rebuild_hint(tmp_path, seed_documents, damage):
    live = store.save_index(store.build_index(seed_documents, FakeEmbedder()), tmp_path)
    target = live / damage
    if target.is_dir():
        for f in target.iterdir():
            f.write_bytes(b"garbage")
    else:
        target.write_bytes(b"\x00garbage")
    with pytest.raises(IndexUnavailableError) as err:
        store.load_index(tmp_path)
    assert "--rebuild" in str(err.value) and "\n" not in str(err.value)


def test_failed_save_leaves_previous_index_live(tmp_path, seed_documents, monkeypatch):
    store.save_index(store.build_index(seed_documents, FakeEmbedder()), tmp_path)
    before = (tmp_path / store.CURRENT).read_text()
    other = [_doc("other.txt", "A different corpus entirely.")]

    def boom(root):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "fsync_tree", boom)
    with pytest.raises(KeyboardInterrupt):
        store.save_index(store.build_index(other, FakeEmbedder()), tmp_path)
    assert (tmp_path / store.CURRENT).read_text() == before
    assert store.load_index(tmp_path).documents[0].doc_id == "denver-ordinance.md"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_killed_rebuild_never_breaks_the_live_index(tmp_path):
    """SIGKILL in the middle of writing a new generation: the old one stays live."""
    root = Path(__file__).resolve().parent.parent
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path[:0] = [{str(root)!r}, {str(root / "tests")!r}]
        import numpy as np
        from index import store
        from fakes import FakeEmbedder
        from index.documents import Document
        text = "Replacement text that never goes live."
        doc = Document("new.txt", "New", text, ((0, len(text)),))
        real_save = np.save
        def slow_save(*a, **k):
            real_save(*a, **k)
            print("writing", flush=True)
            time.sleep(30)
        np.save = slow_save
        from pathlib import Path
        store.save_index(store.build_index([doc], FakeEmbedder()), Path(sys.argv[1]))
        """
    )
    docs = load_corpus(root / "corpus")
    store.save_index(store.build_index(docs, FakeEmbedder()), tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    loaded = store.load_index(tmp_path)
    assert loaded.documents[0].doc_id == "denver-ordinance.md"
    # The next successful build clears the debris of the killed one.
    store.save_index(store.build_index(docs, FakeEmbedder()), tmp_path)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexUnavailableError, match="quotebot index"):
        store.load_index(tmp_path / "nowhere")


def test_a_build_reports_splitting_by_paragraph_and_embedding_by_sentence(seed_documents):
    seen: list[tuple[str, int, int]] = []

    index = store.build_index(seed_documents, FakeEmbedder(), progress=lambda *s: seen.append(s))

    splitting = [s for s in seen if s[0] == store.SPLITTING]
    assert splitting == [(store.SPLITTING, n, 13) for n in range(14)]
    embedding = [s for s in seen if s[0] == store.EMBEDDING]
    assert embedding[0] == (store.EMBEDDING, 0, len(index)) and embedding[-1][1] == len(index)


def test_a_sentence_repeated_across_documents_is_embedded_once(tmp_path):
    footer = "Questions about this policy go to the people team."
    docs = [
        _doc(f"page{i}.txt", f"Page {i} covers topic number {i} in depth.\n\n{footer}")
        for i in range(3)
    ]
    embedder = CountingEmbedder()
    index = store.build_index(docs, embedder)
    assert embedder.texts.count(footer) == 1
    rows = [r for r in range(len(index)) if index.sentence_text(r) == footer]
    assert len(rows) == 3  # every page still holds, and can quote, its footer
    alone = FakeEmbedder().encode([footer])[0]
    for r in rows:
        np.testing.assert_array_equal(index.vectors[r], alone)
    others = [r for r in range(len(index)) if r not in rows]
    np.testing.assert_array_equal(
        index.vectors[others], FakeEmbedder().encode([index.sentence_text(r) for r in others])
    )
