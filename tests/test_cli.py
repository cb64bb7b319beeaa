"""The quotebot command, run as a user runs it, with the real bundled model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUOTEBOT = [sys.executable, "-m", "bot.cli"]

pytestmark = pytest.mark.model


def run(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        QUOTEBOT + args, env=env, input=stdin, capture_output=True, text=True, timeout=600, cwd=ROOT
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose index was built once by `quotebot index` with the real model."""
    home = tmp_path_factory.mktemp("cli")
    corpus = home / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_", "SLACK_"))
    }
    env.update(QUOTEBOT_CORPUS=str(corpus), QUOTEBOT_INDEX_DIR=str(home / "index"))
    result = run(["index"], env)
    assert result.returncode == 0, result.stderr
    assert "Indexed 1 document(s)" in result.stdout
    assert "queries via onnx" in result.stdout
    return env


def test_ask_json_answers_with_a_verbatim_cited_quote(built):
    result = run(["ask", "--json", "What did ICE call the ordinance?"], built)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) >= {"question", "abstained", "confidence", "quotes"}
    assert answer["abstained"] is False
    first = answer["quotes"][0]
    assert '"dangerous"' in first["text"] and first["paragraph"] == 7
    text = (Path(built["QUOTEBOT_CORPUS"]) / "denver-ordinance.md").read_text()
    body = text.split("---\n", 2)[2]
    assert body[first["start"] : first["end"]] == first["text"]


def test_ask_abstains_on_a_question_the_article_does_not_answer(built):
    answer = json.loads(run(["ask", "--json", "Who won the 2018 World Cup?"], built).stdout)
    assert answer["abstained"] is True and answer["quotes"] == []
    assert answer["closest"]


def test_ask_reads_one_question_per_stdin_line(built):
    questions = "How did the council vote?\n\nWho is the mayor of Denver?\n   \n"
    result = run(["ask", "--json", "-"], built, stdin=questions)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in lines] == [
        "How did the council vote?",
        "Who is the mayor of Denver?",
    ]
    assert "10-0 vote" in (lines[0]["quotes"] or lines[0]["closest"])[0]["text"]
    assert "Hancock" in (lines[1]["quotes"] or lines[1]["closest"])[0]["text"]


def test_pretty_answer_shows_quote_citation_and_confidence(built):
    result = run(["ask", "How much money would Denver lose?"], built)
    assert result.returncode == 0
    assert "$425,000" in result.stdout
    assert "¶ 12" in result.stdout
    assert "Confidence:" in result.stdout


def test_empty_question_is_one_line_on_stderr(built):
    result = run(["ask", "   "], built)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "ask a question" in result.stderr
    assert "Traceback" not in result.stderr


def test_sources_lists_the_article(built):
    result = run(["sources", "--json"], built)
    data = json.loads(result.stdout)
    assert data["index_kind"] == "flat"
    assert data["documents"][0]["paragraphs"] == 13


def test_chat_accepts_the_bots_slash_commands(built):
    script = "/help\n/sources\nWhat did ICE call the ordinance?\n/ask\n/nonsense\n/quit\n"
    result = run(["chat"], built, stdin=script)
    assert result.returncode == 0, result.stderr
    assert "/ask <question>" in result.stdout  # help
    assert "13 paragraphs" in result.stdout  # sources
    assert "dangerous" in result.stdout  # answer
    assert "Please ask a question" in result.stdout  # empty /ask
    assert "Unknown command /nonsense" in result.stdout


def test_run_without_platforms_starts_the_terminal_chat(built):
    result = run(["run"], built, stdin="What did ICE call the ordinance?\n")
    assert result.returncode == 0, result.stderr
    assert "terminal chat" in result.stderr
    assert "dangerous" in result.stdout


def test_changed_corpus_is_noticed_and_reindexed(built, tmp_path):
    env = dict(built, QUOTEBOT_INDEX_DIR=str(tmp_path / "index"))
    corpus = Path(env["QUOTEBOT_CORPUS"]).parent / "corpus2"
    shutil.copytree(built["QUOTEBOT_CORPUS"], corpus)
    env["QUOTEBOT_CORPUS"] = str(corpus)
    assert run(["index"], env).returncode == 0
    (corpus / "zoo.txt").write_text("Zoo news\n\nThe zoo's new panda is named Bao Bao.\n")
    result = run(["ask", "--json", "What is the name of the zoo's new panda?"], env)
    assert "corpus changed" in result.stderr
    answer = json.loads(result.stdout)
    assert "Bao Bao" in (answer["quotes"] or answer["closest"])[0]["text"]


def test_index_built_with_another_model_is_refused_in_one_line(built):
    env = dict(built, QUOTEBOT_MODEL="some/other-model")
    result = run(["ask", "hello there"], env)
    assert result.returncode == 2
    assert "quotebot index --rebuild" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_empty_corpus_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    env = dict(
        os.environ,
        QUOTEBOT_CORPUS=str(tmp_path / "empty"),
        QUOTEBOT_INDEX_DIR=str(tmp_path / "index"),
    )
    result = run(["index"], env)
    assert result.returncode == 2
    assert "No documents in" in result.stderr and "Traceback" not in result.stderr


def test_answering_never_imports_torch(built):
    code = (
        "import sys\n"
        "from bot.config import Settings\n"
        "from bot.app import build_service\n"
        "s = build_service(Settings.from_env(dotenv=False))\n"
        "s.ask('How did the council vote?')\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=built,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.stdout.strip() == "False False", result.stderr


def test_onnx_and_torch_give_the_same_vectors(tmp_path):
    import numpy as np

    from index.embedder import OnnxEmbedder, SentenceTransformerEmbedder

    sentences = [
        "The Denver City Council passed the measure in a 10-0 vote.",
        "ICE called the ordinance dangerous.",
        "Ünïcödé, emoji 🤔 and punctuation!?",
        "a",
        "word " * 400,
    ]
    torch_model = SentenceTransformerEmbedder()
    torch_model.export_onnx(tmp_path)
    a = torch_model.encode(sentences)
    b = OnnxEmbedder(tmp_path).encode(sentences)
    assert np.all(np.sum(a * b, axis=1) >= 0.999)


def test_questions_worded_by_readers_are_answered_or_declined(built):
    """Readers who have not seen the article paraphrase it and type as in chat.

    Measured level, kept from sliding back: 23 of the 36 questions the article
    answers get the answer within the first three quotes of an answer, and
    every question about something else is declined. Short of the goal (all 36,
    and the five on-topic questions the article does not answer declined too;
    today one of them is): the README says so.
    """
    cases = json.loads((ROOT / "tests" / "data" / "denver_questions.json").read_text())
    cases = cases["questions"]
    assert len(cases) >= 40
    stdin = "".join(c["question"] + "\n" for c in cases)
    result = run(["ask", "--json", "-"], built, stdin=stdin)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == len(cases)
    answered_right, missed = 0, []
    for case, answer in zip(cases, answers, strict=True):
        quotes = [q["text"] for q in answer["quotes"][:3]]
        if case["answers"]:
            if not answer["abstained"] and any(a in q for q in quotes for a in case["answers"]):
                answered_right += 1
            else:
                missed.append(case["question"])
        elif not case["on_topic"]:
            assert answer["abstained"], f"answered an off-topic question: {case['question']!r}"
    answerable = sum(1 for c in cases if c["answers"])
    assert answered_right >= 23, f"{answered_right}/{answerable}; missed: {missed}"
