"""Shared fixtures: a deterministic fake embedder, the seed corpus, a ready service."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from bot.config import Settings
from bot.service import QuoteService
from index.documents import Document, load_corpus
from index.search import Searcher
from index.store import CorpusIndex, build_index

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def seed_documents() -> list[Document]:
    return load_corpus(SEED_CORPUS)


@pytest.fixture(scope="session")
def seed_index(seed_documents: list[Document]) -> CorpusIndex:
    return build_index(seed_documents, FakeEmbedder())


@pytest.fixture
def service(seed_index: CorpusIndex) -> QuoteService:
    """A real QuoteService over the seed article, with the fake embedder (no torch)."""
    return QuoteService(seed_index, Searcher(seed_index, FakeEmbedder()))


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    """Settings for a copy of the seed corpus and an index of the fake embedder's, in tmp_path."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    return Settings(corpus=corpus, index_dir=tmp_path / "index", model=FakeEmbedder.name)
