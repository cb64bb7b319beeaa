"""The abstention fit: v2.0's unanswerable questions join its negatives only as far
as off-topic questions are still declined. And the ranker file says how many
candidates the sentence reader reads, the number everything was fitted with."""

from __future__ import annotations

import numpy as np
from fakes import FakeEmbedder

from bot.cli import main
from index.search import Ranker, Searcher
from index.store import CorpusIndex
from quality.tune import fit_abstention


def pool(unanswerable_centre: np.ndarray, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Two features: on-topic-ness and answers-the-question-ness."""
    rng = np.random.default_rng(seed)
    groups = {
        "answerable": (np.array([2.0, 2.0]), 600),
        "noisy": (np.array([1.8, 1.8]), 600),
        "off_article": (np.array([-3.0, 2.0]), 1000),
        "unanswerable": (unanswerable_centre, 300),
    }
    x, kinds = [], []
    for kind, (centre, n) in groups.items():
        x.append(centre + rng.normal(0, 0.7, size=(n, 2)))
        kinds += [kind] * n
    whole = np.arange(len(kinds)) % 2 == 0
    return np.concatenate(x), np.array(kinds), whole


def flagged(x: np.ndarray, kinds: np.ndarray, aw: np.ndarray, ab: float, t: float) -> float:
    p = 1 / (1 + np.exp(-(x @ aw + ab)))
    return float((p[kinds == "unanswerable"] < t).mean())


def test_unanswerable_questions_the_features_tell_apart_are_learnt() -> None:
    # On topic (first feature high) but not answered (second feature low).
    x, kinds, whole = pool(np.array([2.0, -2.0]))
    aw, ab, t, chosen, table = fit_abstention(x, kinds, whole, answer_rate=0.98)
    assert chosen["share"] > 0
    assert flagged(x, kinds, aw, ab, t) > table[0]["unanswerable_flagged"] + 0.2
    assert chosen["off_article_abstention"] > 0.95


def test_unanswerable_questions_like_answerable_ones_are_not_fitted_at_off_topic_cost() -> None:
    # Indistinguishable from answerable questions: weighing them only blurs the model.
    x, kinds, whole = pool(np.array([2.0, 2.0]))
    _, _, _, chosen, table = fit_abstention(x, kinds, whole, answer_rate=0.98)
    assert chosen["off_article_abstention"] >= table[0]["off_article_abstention"] - 0.005
    assert chosen["answer_rate_noisy"] >= table[0]["answer_rate_noisy"] - 0.005


class CountingReader:
    """A sentence reader that scores every sentence alike and counts what it reads."""

    def __init__(self) -> None:
        self.read: list[int] = []

    def score(self, question: str, sentences: list[str]) -> np.ndarray:
        self.read.append(len(sentences))
        return np.zeros(len(sentences))


def test_the_reader_reads_as_many_candidates_as_the_ranker_was_fitted_with(
    seed_index: CorpusIndex,
) -> None:
    shipped = Ranker.load()
    assert shipped.read == 3  # make tune fits reading three, the default
    assert Ranker.from_dict({k: v for k, v in shipped.to_dict().items() if k != "read"}).read == 3
    # Without the bound that leaves hopeless candidates unread, it reads them all.
    three = Ranker.from_dict(dict(shipped.to_dict(), reader_bound=None))
    four = Ranker.from_dict(dict(three.to_dict(), read=4))
    for ranker, expected in ((three, 3), (four, 4)):
        reader = CountingReader()
        searcher = Searcher(seed_index, FakeEmbedder(), ranker=ranker, reader=reader)
        result = searcher.search("How much money would Denver lose?")
        assert sum(reader.read) == expected and len(result.read) == expected


class HashReader(CountingReader):
    """A sentence reader whose logit, in [-1, 1], depends only on the sentence."""

    def score(self, question: str, sentences: list[str]) -> np.ndarray:
        super().score(question, sentences)
        return np.array([(sum(map(ord, s)) % 201) / 100 - 1 for s in sentences])


def test_candidates_left_unread_could_not_have_become_the_first_quote(
    seed_index: CorpusIndex,
) -> None:
    """With the reader's highest logit known, a candidate too far behind is not read:
    the same first quote, in less time."""
    every = Ranker.from_dict(dict(Ranker.load().to_dict(), reader_weight=1.0, reader_bound=None))
    bounded = Ranker.from_dict(dict(every.to_dict(), reader_bound=1.0))
    questions = [
        "How much money would Denver lose?",
        "Who voted against the ordinance?",
        "What did the mayor say?",
        "When does the ordinance take effect?",
        "Which party is Dave Williams in?",
        "How many council members voted?",
    ]
    fewer = 0
    for question in questions:
        results, counts = [], []
        for ranker in (every, bounded):
            reader = HashReader()
            searcher = Searcher(seed_index, FakeEmbedder(), ranker=ranker, reader=reader)
            results.append(searcher.search(question))
            counts.append(sum(reader.read))
        assert results[0].hits[0].row == results[1].hits[0].row, question
        assert counts[0] == 3 and 1 <= counts[1] <= 3
        fewer += counts[1] < 3
    assert fewer >= 1


def test_tune_refuses_a_reader_reading_no_candidates(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    squad = tmp_path / "squad.json"
    squad.write_text('{"data": []}')
    assert main(["tune", str(squad), "--read", "0"]) == 2
    assert "--read takes a number of candidates >= 1, not 0" in capsys.readouterr().err


def test_the_ranker_learns_what_two_features_say_only_together() -> None:
    """The right sentence is the one whose two features agree in sign and size (their
    product is highest): no weighted sum of them finds it, the ranker's tanh units do.
    Its file keeps those units: loaded again, it ranks the same."""
    from types import SimpleNamespace

    from index.search import FEATURES
    from quality.tune import fit_ranker

    def questions(n: int, seed: int) -> list[SimpleNamespace]:
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            f = rng.normal(size=(8, len(FEATURES)))
            out.append(
                SimpleNamespace(
                    features=f, labels=np.eye(8, dtype=bool)[np.argmax(f[:, 0] * f[:, 1])]
                )
            )
        return out

    def top1(ranker: Ranker, samples: list[SimpleNamespace]) -> float:
        return float(np.mean([s.labels[np.argmax(ranker.score(s.features))] for s in samples]))

    train, test = questions(600, 0), questions(300, 1)
    rankers = {units: fit_ranker(train, units=units) for units in (0, 16)}  # type: ignore[arg-type]
    assert top1(rankers[0], test) < 0.35  # chance is 1 in 8
    assert top1(rankers[16], test) > 0.6
    again = Ranker.from_dict(rankers[16].to_dict())
    assert np.allclose(again.score(test[0].features), rankers[16].score(test[0].features))
