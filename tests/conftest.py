"""Shared fixtures: a fake embedder, the seed corpus, a ready service, state stores."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from fakes import FakeEmbedder

from bot.config import Settings
from bot.service import QuoteService
from bot.storage import Store, open_store
from index.documents import Document, load_corpus
from index.search import Searcher
from index.store import CorpusIndex, build_index

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session", autouse=True)
def private_config_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The user's configuration folder (where the user-id hash key is made), for the run.

    Set in the environment, so the quotebot processes tests start use it too; the
    real ~/.config is never touched. Tests about the key set their own.
    """
    folder = tmp_path_factory.mktemp("xdg-config")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(folder))
        yield folder


@pytest.fixture(scope="session", autouse=True)
def private_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The user's cache folder (where the question model's export is kept), for the run.

    In the environment, like the configuration folder: the real ~/.cache is never
    touched, and one export made in the run is shared by the run's later builds.
    """
    folder = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        patch.delenv("QUOTEBOT_MODEL_CACHE", raising=False)
        yield folder


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


# -- state stores ---------------------------------------------------------------------

TEST_DATABASE_VAR = "QUOTEBOT_TEST_DATABASE_URL"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database made for this test run (dropped at its end), as a URL.

    Skips when no server answers, unless QUOTEBOT_TEST_DATABASE_URL names one:
    then a missing server fails the tests.
    """
    import psycopg

    required = os.environ.get(TEST_DATABASE_VAR, "").strip()
    admin = required or LOCAL_POSTGRES
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if required:
            pytest.fail(f"{TEST_DATABASE_VAR} is set but PostgreSQL does not answer: {exc}")
        pytest.skip(f"no PostgreSQL server at {admin}; set {TEST_DATABASE_VAR} to require one")
    name = f"quotebot_test_{os.getpid()}_{secrets.token_hex(4)}"
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin)._replace(path="/" + name, query=""))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """A fresh, empty schema of the test run's database, for one test."""
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{postgres_database}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same storage tests run on both backends."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'state.sqlite3'}"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """The default store, a SQLite file in the test's folder (for the adapter tests)."""
    with open_store(None, sqlite_path=tmp_path / "feedback.sqlite3") as store:
        yield store


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    """Settings for a copy of the seed corpus and an index of the fake embedder's, in tmp_path."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    return Settings(corpus=corpus, index_dir=tmp_path / "index", model=FakeEmbedder.name)
