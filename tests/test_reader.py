"""The sentence reader shipped in index/reader: it reads meaning, not shared words."""

from __future__ import annotations

import pytest

from index.errors import ModelError
from index.reader import READER_DIR, Reader, default_reader

ARTICLE = [
    "The Denver City Council has passed a measure that prevents city officials from "
    "cooperating with federal immigration officials, and blocks police from asking about "
    "an arrestee's immigration status.",
    "The Denver Public Safety Enforcement Priorities Act, offered by Democrats, passed in a "
    "10-0 vote Monday night and was followed by a standing ovation.",
    'ICE called the ordinance "dangerous" and "irresponsible."',
    "The Denver City Council said it was aware it could lose federal funding with the new "
    "ordinance.",
    "Denver would lose roughly $425,000 annually.",
]


@pytest.fixture(scope="module")
def reader() -> Reader:
    found = default_reader()
    assert found is not None, f"no reader in {READER_DIR}"
    return found


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # No word in common with the sentence that answers.
        ("How did people in the room respond when it passed?", 1),
        ("How many dollars a year could the city give up?", 4),
        ("Can cops ask someone about their papers?", 0),
    ],
)
def test_the_sentence_that_answers_reads_best(reader: Reader, question: str, answer: int) -> None:
    scores = reader.score(question, ARTICLE)
    assert int(scores.argmax()) == answer, scores


def test_sharing_words_is_not_answering(reader: Reader) -> None:
    # Every content word of the question is in the sentence, which does not answer it.
    unanswered = reader.score("When did Denver lose federal funding?", [ARTICLE[3]])[0]
    answered = reader.score("How much would Denver lose each year?", [ARTICLE[4]])[0]
    assert unanswered < answered


def test_a_sentence_reads_the_same_whatever_it_is_read_with(reader: Reader) -> None:
    """The same candidate keeps its score, so an answer does not change with the others."""
    question = "How much money does the city stand to lose?"
    alone = reader.score(question, [ARTICLE[4]])[0]
    together = reader.score(question, [ARTICLE[0], ARTICLE[4], ARTICLE[1]])[1]
    assert together == alone


def test_no_sentences_no_scores(reader: Reader) -> None:
    assert reader.score("Who is the mayor?", []).shape == (0,)


def test_a_broken_reader_is_one_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "reader.json").write_text('{"max_length": 128}')
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="Cannot load the sentence reader"):
        Reader(tmp_path)
