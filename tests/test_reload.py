"""A running bot follows the index: new generations are picked up without a restart."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from urllib.request import ProxyHandler, build_opener

import numpy as np
import pytest
from fakes import FakeEmbedder
from fakes import fake_factory as fake
from test_slack_http import metric

from bot.app import build_ops, build_service, live_service
from bot.config import Settings
from bot.http_server import ops_server
from bot.service import QuoteService
from index import store
from index.build import build
from index.search import Searcher

PANDA = "What is the zoo's new panda named?"


@pytest.fixture
def settings(fake_settings: Settings) -> Settings:
    settings = replace(fake_settings, reload_seconds=0.2)
    build(settings.index_spec(), embedder_factory=fake)
    return settings


def add_panda(settings: Settings) -> None:
    (settings.corpus / "zoo.txt").write_text("Zoo news\n\nThe zoo's new panda is named Bao Bao.\n")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def generations(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.index_dir.iterdir() if p.name.startswith("gen-"))


def shows_panda(service: object) -> bool:
    answer = service.ask(PANDA)  # type: ignore[attr-defined]
    return any("Bao Bao" in q.text for q in answer.quotes + answer.closest)


def first_quote(service: object) -> str:
    answer = service.ask("What did ICE call the ordinance?")  # type: ignore[attr-defined]
    return (answer.quotes or answer.closest)[0].text


def test_a_running_service_answers_from_a_new_build_within_seconds(settings):
    service = live_service(
        settings, build_service(settings, embedder_factory=fake), embedder_factory=fake
    )
    with service:
        old = service.index.folder
        assert not shows_panda(service)
        add_panda(settings)
        # as `quotebot index` beside the bot does
        build(settings.index_spec(), embedder_factory=fake)
        wait_for(lambda: shows_panda(service), timeout=10)
        assert service.index.folder != old
        assert [s.document for s in service.sources()] == ["denver-ordinance.md", "zoo.txt"]
        # No one reads the old generation any more: the bot frees its disk space.
        assert old is not None
        wait_for(lambda: not old.exists(), timeout=10)
        assert generations(settings) == [service.index.folder.name]


def test_a_generation_that_fails_to_load_is_logged_once_and_the_old_one_keeps_answering(
    settings, caplog
):
    service = live_service(
        settings, build_service(settings, embedder_factory=fake), embedder_factory=fake
    )
    add_panda(settings)
    broken = build(settings.index_spec(), embedder_factory=fake).folder
    assert broken is not None
    (broken / "documents.json").write_text("{not json")
    caplog.set_level(logging.WARNING, logger="bot.reload")

    assert service.check() is False
    assert service.check() is False
    assert not shows_panda(service)
    assert '"dangerous"' in first_quote(service)
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.reload"]
    assert len(warnings) == 1 and broken.name in warnings[0], warnings

    (settings.index_dir / store.CURRENT).write_bytes(b"\xff garbage")
    assert service.check() is False
    assert '"dangerous"' in first_quote(service)

    build(settings.index_spec(), rebuild=True, embedder_factory=fake)
    assert service.check() is True
    assert shows_panda(service)


class GatedEmbedder(FakeEmbedder):
    """Embeds a question only once the test opens the gate: a question in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def encode(self, texts: Sequence[str], *, progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        self.entered.set()
        assert self.gate.wait(10)
        return super().encode(texts, progress=progress)


def test_a_question_in_flight_finishes_on_the_generation_it_started_on(settings):
    index = store.load_index(settings.index_dir, model=settings.model)
    gated = GatedEmbedder()
    service = live_service(
        settings, QuoteService(index, Searcher(index, gated)), embedder_factory=fake
    )
    old = index.folder
    answers = []
    asking = threading.Thread(target=lambda: answers.append(service.ask(PANDA)))
    asking.start()
    assert gated.entered.wait(10)

    add_panda(settings)
    build(settings.index_spec(), embedder_factory=fake)
    assert service.check() is True
    assert shows_panda(service)  # new questions: the new generation
    build(settings.index_spec(), embedder_factory=fake)
    assert old is not None and old.is_dir()  # still read by the question in flight

    gated.gate.set()
    asking.join(10)
    [answer] = answers
    assert all(q.document == "denver-ordinance.md" for q in answer.quotes + answer.closest)
    build(settings.index_spec(), embedder_factory=fake)
    assert not old.exists()


def test_healthz_and_metrics_report_the_generation_a_running_bot_switched_to(
    settings, sqlite_store
):
    service = live_service(
        settings, build_service(settings, embedder_factory=fake), embedder_factory=fake
    )
    metrics, health = build_ops(service, sqlite_store)  # as `quotebot run` builds them
    ops = ops_server(replace(settings, metrics_port=0), metrics, health)
    assert ops is not None
    opener = build_opener(ProxyHandler({}))

    def get(path: str) -> str:
        with opener.open(f"http://127.0.0.1:{ops.port}{path}", timeout=10) as response:
            return str(response.read().decode())

    def generation() -> str:
        return str(json.loads(get("/healthz"))["index"]["generation"])

    try:
        with service:
            old = generation()
            assert metric(get("/metrics"), "quotebot_index_documents") == 1
            add_panda(settings)
            build(settings.index_spec(), embedder_factory=fake)
            wait_for(lambda: generation() != old, timeout=10)
            assert generation() == store.current_generation(settings.index_dir)
            assert metric(get("/metrics"), "quotebot_index_documents") == 2
    finally:
        ops.shutdown(grace=1)
