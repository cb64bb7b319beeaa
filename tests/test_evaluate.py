"""SQuAD evaluation: the metrics behind the README's quality figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from bot.cli import main
from bot.errors import CorpusError
from bot.evaluate import evaluate, load_squad, ranking_metrics


def test_ranking_metrics_count_hits_by_substring():
    ranked = [
        ["It opened in 1889.", "Other."],  # hit at 1
        ["Nothing here.", "Built by Eiffel's company."],  # hit at 2
        ["No.", "No.", "No.", "Eiffel"],  # a hit past 3 does not count
    ]
    gold = [("1889",), ("Eiffel",), ("Eiffel",)]
    m = ranking_metrics(ranked, gold)
    assert m["hit@1"] == pytest.approx(1 / 3)
    assert m["hit@3"] == pytest.approx(2 / 3)
    assert m["mrr"] == pytest.approx((1 + 0.5) / 3)
    assert m["median_first_quote_chars"] == len("Nothing here.")


def _squad(tmp_path: Path) -> Path:
    def article(title: str, sentences: list[str], qas: list[tuple[str, str]]) -> dict:
        context = " ".join(sentences)
        return {
            "title": title,
            "paragraphs": [
                {
                    "context": context,
                    "qas": [
                        {
                            "question": q,
                            "id": q,
                            "answers": [{"text": a, "answer_start": context.find(a)}],
                        }
                        for q, a in qas
                    ],
                }
            ],
        }

    data = {
        "data": [
            article(
                "Tower",
                ["The tower was finished in 1889.", "Gustave Eiffel's company built the tower."],
                [
                    ("When was the tower finished?", "1889"),
                    ("Whose company built the tower?", "Gustave Eiffel"),
                ],
            ),
            article(
                "River",
                ["The river floods every spring.", "Farmers plant rice along the river banks."],
                [
                    ("When does the river flood?", "every spring"),
                    ("What do farmers plant?", "rice"),
                ],
            ),
        ]
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data))
    return path


def test_evaluate_scores_each_article_as_its_own_corpus(tmp_path):
    embedder = FakeEmbedder()
    m = evaluate(_squad(tmp_path), (0, 2), build_embedder=embedder, query_embedder=embedder)
    assert m["questions"] == 4
    assert m["hit@3"] == 1.0  # two-sentence articles: every answer is within three quotes
    assert m["off_article_questions"] == 4
    for key in ("hit@1", "mrr", "in_article_answer_rate", "off_article_abstention"):
        assert 0.0 <= m[key] <= 1.0
    assert 1.0 <= m["candidates_read_per_question"] <= 3.0  # the reader reads 1 to 3


def test_evaluate_reports_the_figures_at_a_confidence_bar(tmp_path):
    embedder = FakeEmbedder()
    kwargs = {"build_embedder": embedder, "query_embedder": embedder, "small_corpora": False}
    plain = evaluate(_squad(tmp_path), (0, 2), **kwargs)
    assert "min_confidence" not in plain and plain["in_article_answer_rate"] > 0
    strict = evaluate(_squad(tmp_path), (0, 2), min_confidence=0.999999, **kwargs)
    assert strict["min_confidence"] == 0.999999
    assert strict["in_article_answer_rate"] < plain["in_article_answer_rate"]
    assert strict["off_article_abstention"] == 1.0


def test_load_squad_keeps_answerable_questions_only(tmp_path):
    path = _squad(tmp_path)
    data = json.loads(path.read_text())
    data["data"][0]["paragraphs"][0]["qas"].append(
        {"question": "Unanswerable?", "id": "x", "answers": [], "is_impossible": True}
    )
    path.write_text(json.dumps(data))
    articles = load_squad(path)
    assert [len(a.questions) for a in articles] == [2, 2]
    assert articles[0].document().text.startswith("The tower was finished")


def test_unreadable_squad_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CorpusError, match="not a readable SQuAD JSON file"):
        load_squad(bad)
    assert main(["eval", str(bad), "--articles", "nonsense"]) == 2
    assert "--articles takes A:B" in capsys.readouterr().err


def test_tune_refuses_unseen_articles_outside_the_tuning_split(tmp_path, capsys):
    squad = tmp_path / "squad.json"
    squad.write_text('{"data": []}')
    assert main(["tune", str(squad), "--articles", "0:24", "--unseen", "20:30"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--unseen 20:30 must lie within --articles 0:24" in err
    assert main(["tune", str(squad), "--unseen", "x"]) == 2
    assert "--unseen takes A:B" in capsys.readouterr().err
