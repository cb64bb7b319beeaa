"""The steps every platform shares: claim the event, the cooldown, answer and remember."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import messages
from bot.asking import Asking, Question, Thread
from bot.config import Settings
from bot.errors import CooldownError
from bot.metrics import Metrics
from bot.routing import Route
from bot.service import QuoteService
from bot.storage import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(None, sqlite_path=tmp_path / "state.sqlite3", user_hash_key="k")
    yield store
    store.close()


def asking(store: Store, rate: int = 5, seconds: float = 60) -> Asking:
    settings = Settings(cooldown_rate=rate, cooldown_seconds=seconds)
    return Asking(settings, store, "slack", Metrics())


@pytest.mark.parametrize(("wait", "shown"), [(0.01, 1), (0.5, 1), (1.0, 1), (1.2, 2), (59.9, 60)])
def test_the_cooldown_says_whole_seconds_rounded_up_never_zero(wait: float, shown: int) -> None:
    assert str(CooldownError(wait)) == messages.COOLDOWN.format(seconds=shown)


def test_a_spent_cooldown_raises_and_is_counted(store: Store) -> None:
    steps = asking(store, rate=1, seconds=60)
    assert steps.admit("U1")
    with pytest.raises(CooldownError) as refused:
        steps.admit("U1")
    assert 59 <= refused.value.seconds <= 60
    assert steps.admit("U2")  # another user has a cooldown of their own
    counted = steps.metrics.questions.labels("slack", "cooldown")._value.get()
    assert counted == 1


def test_an_event_is_answered_once(store: Store) -> None:
    first, second = asking(store), asking(store)  # two replicas on one store
    assert first.admit("U1", "event:Ev1")
    assert not second.admit("U1", "event:Ev1")
    assert second.metrics.deduplicated.labels("slack")._value.get() == 1


def test_an_answer_is_remembered_for_its_buttons_and_its_thread(
    store: Store, service: QuoteService
) -> None:
    steps = asking(store)
    thread = Thread("C1", "171.0")
    route = Route("default", service)
    first = steps.answer(Question("What did ICE call the ordinance?", route, keep_in=thread))

    assert not first.abstained
    assert store.answer(first.id) is not None  # the buttons under it can find it
    assert store.thread_answer("slack", "C1", "171.0").id == first.id
    later = steps.answer(Question("What did the mayor say about it?", route, follows=thread))
    assert store.thread_answer("slack", "C1", "171.0").id == first.id  # kept only when asked
    assert store.answer(later.id) is not None
