"""SQuAD evaluation: the metrics behind the README's quality figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from bot.cli import main
from bot.errors import CorpusError
from quality.evaluate import evaluate, ranking_metrics
from quality.squad import load_squad


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


# -- a team's own documents: a corpus folder and a JSONL file of questions ------------


def _team_corpus(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "faq.md").write_text(
        "# Team FAQ\n\n"
        "## How do I reset my password?\n\n"
        "Open the account page and choose Reset password; a reset link arrives by email.\n\n"
        "## Where is the office?\n\n"
        "The office is at 12 Harbour Street, second floor.\n",
        encoding="utf-8",
    )
    (corpus / "leave.txt").write_text(
        "Annual leave\n\n"
        "Every employee gets twenty-five days of annual leave each year.\n\n"
        "Unused annual leave can be carried over up to five days into the next year.\n",
        encoding="utf-8",
    )
    rows = [
        {
            "question": "how do I reset my password",
            "answer": "a  reset LINK arrives by email",  # whitespace and case do not matter
            "document": "faq.md",
            "kind": "faq",
            "split": "test",
        },
        {
            "question": "where is the office street",
            "answer": "12 Harbour Street",
            "document": "faq.md",
            "kind": "faq",
            "split": "test",
        },
        {
            "question": "how many days of annual leave does every employee get each year",
            "answer": "twenty-five days",
            "document": "leave.txt",
            "kind": "policy",
            "split": "fit",
        },
        {
            # the right words, but credited to the wrong file: not a hit
            "question": "how many days of annual leave can be carried over",
            "answer": "up to five days",
            "document": "faq.md",
            "kind": "policy",
            "split": "fit",
        },
        {"question": "what is the parking policy for bicycles", "answer": None, "kind": "faq"},
    ]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return corpus, questions


def test_evaluate_documents_scores_quotes_per_kind(tmp_path):
    from fakes import fake_factory

    from bot.config import Settings
    from quality.documents import evaluate_documents, format_table

    corpus, questions = _team_corpus(tmp_path)
    settings = Settings(corpus=corpus, index_dir=tmp_path / "unused", model=FakeEmbedder.name)
    result, scored = evaluate_documents(questions, settings, embedder_factory=fake_factory)

    by_question = {s.question.question: s for s in scored}
    assert by_question["how do I reset my password"].rank == 1
    assert by_question["where is the office street"].rank == 1
    # The quote holding "up to five days" comes from leave.txt, not the faq.md the line names.
    carried = by_question["how many days of annual leave can be carried over"]
    assert "leave.txt" in carried.documents and carried.rank is None
    assert result["by_kind"]["faq"]["questions"] == 2
    assert result["by_kind"]["faq"]["hit@1"] == 1.0
    assert result["by_kind"]["faq"]["unanswerable"] == 1
    assert result["by_kind"]["policy"]["hit@3"] == 0.5
    assert result["overall"]["questions"] == 4
    assert result["overall"]["hit@3"] == 0.75
    assert not (tmp_path / "unused").exists()  # the index was built in a temporary folder
    assert "faq" in format_table(result) and "all" in format_table(result)

    test_only, _ = evaluate_documents(
        questions, settings, split="test", embedder_factory=fake_factory
    )
    assert test_only["split"] == "test"
    assert test_only["overall"]["questions"] == 2
    assert set(test_only["by_kind"]) == {"faq"}


def test_evaluate_documents_counts_unanswerable_questions_answered(tmp_path):
    from quality.documents import DocQuestion, Scored, figures

    unanswerable = DocQuestion("what about parking?", None, kind="faq")
    answerable = DocQuestion("where is the office?", "Harbour Street", kind="faq")
    scored = [
        Scored(unanswerable, answered=True, rank=None, first_chars=40),
        Scored(unanswerable, answered=False, rank=None, first_chars=30),
        Scored(answerable, answered=True, rank=2, first_chars=50),
    ]
    f = figures(scored)
    assert f["unanswerable"] == 2
    assert f["unanswerable_answered"] == 0.5
    assert f["questions"] == 1
    assert (f["hit@1"], f["hit@3"], f["answered"]) == (0.0, 1.0, 1.0)
    assert f["median_first_quote_chars"] == 40


def test_eval_jsonl_with_a_bad_line_is_one_clear_error(tmp_path, capsys, monkeypatch):
    _clean_environment(monkeypatch, tmp_path)
    corpus, questions = _team_corpus(tmp_path)
    questions.write_text('{"question": "fine?", "answer": "yes"}\n{"answer": "no question"}\n')
    assert main(["eval", str(questions), "--corpus", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "question" in err and "Traceback" not in err
    missing = tmp_path / "nowhere"
    questions.write_text('{"question": "fine?", "answer": "yes"}\n')
    assert main(["eval", str(questions), "--corpus", str(missing)]) == 2
    assert "nowhere" in capsys.readouterr().err


def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No QUOTEBOT_* setting (another test's .env may have left one) and no .env to read."""
    import os

    for name in [k for k in os.environ if k.startswith("QUOTEBOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.model
def test_eval_jsonl_asks_the_real_service(tmp_path, capsys, monkeypatch):
    _clean_environment(monkeypatch, tmp_path)
    corpus, questions = _team_corpus(tmp_path)
    index = tmp_path / "kept-index"
    args = ["eval", str(questions), "--corpus", str(corpus), "--index-dir", str(index), "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["overall"]["questions"] == 4
    assert result["by_kind"]["faq"]["hit@1"] == 1.0
    assert result["overall"]["median_first_quote_chars"] > 0
    assert any(index.iterdir())  # the index is kept for the next run
