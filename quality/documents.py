"""Evaluation on a team's own documents: a corpus folder and a JSONL file of questions.

Each line of the questions file is one JSON object::

    {"question": "how do I stop a package from upgrading?",
     "answer": "brew pin <formula>",          # gold text; null or absent: not answered here
     "document": "homebrew-faq.md",            # optional: the quote must come from this file
     "kind": "faq", "split": "test"}           # optional: report per kind, --split filters

The corpus is indexed as ``quotebot index`` would (in a temporary folder unless one
is given to reuse) and every question is asked through the real service, as
``quotebot ask --json`` asks it. A quote holds the answer when it contains the gold
text, compared after collapsing whitespace and case (and, when ``document`` is
given, comes from that document). Figures, per kind and overall:

* ``hit@1`` / ``hit@3``: answerable questions whose first quote / one of the first
  three holds the answer. The quotes counted are those shown to the user: the
  answer's quotes, or its closest matches when it declines;
* ``answered``: share of the answerable questions answered rather than declined;
* ``unanswerable_answered``: share of the questions without an answer in the
  corpus that were answered anyway (lower is better);
* ``median_first_quote_chars``: median length of the first quote shown.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from bot.errors import CorpusError, QuestionError

DEPTH = 3


@dataclass(frozen=True)
class DocQuestion:
    """One line of a questions file."""

    question: str
    answer: str | None  # None: the documents do not answer it
    document: str | None = None
    kind: str = ""
    split: str = ""


@dataclass(frozen=True)
class Scored:
    """How one question went."""

    question: DocQuestion
    answered: bool
    rank: int | None  # 1-based rank of the first shown quote holding the answer (None: none)
    first_chars: int
    documents: tuple[str, ...] = ()  # the documents of the quotes shown, in order


def load_questions(path: Path | str, split: str | None = None) -> list[DocQuestion]:
    """The questions of a JSONL file (``split``: only the lines of that split).

    A line that is not a JSON object with a non-empty ``question`` is a
    :class:`CorpusError` naming the line.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        name = type(exc).__name__
        raise CorpusError(f"{path} is not a readable questions file ({name}).") from exc
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise CorpusError(f"{path}, line {number}: not a JSON object.") from None
        question = row.get("question") if isinstance(row, dict) else None
        if not isinstance(question, str) or not question.strip():
            raise CorpusError(f'{path}, line {number}: needs a "question" text.')
        answer = row.get("answer")
        if answer is not None and (not isinstance(answer, str) or not answer.strip()):
            raise CorpusError(f'{path}, line {number}: "answer" must be a text or null.')
        document = row.get("document")
        item = DocQuestion(
            question=question,
            answer=answer,
            document=str(document) if document else None,
            kind=str(row.get("kind") or ""),
            split=str(row.get("split") or ""),
        )
        if split is None or item.split == split:
            out.append(item)
    if not out:
        which = f" in split {split!r}" if split else ""
        raise CorpusError(f"{path} has no questions{which}.")
    return out


def normalise(text: str) -> str:
    """``text`` with runs of whitespace collapsed to one space, case folded."""
    return " ".join(text.split()).casefold()


def same_document(quoted: str, wanted: str) -> bool:
    """Whether the quote's document id names ``wanted`` (a path in the corpus or a file name)."""
    q, w = PurePosixPath(quoted.replace("\\", "/")), PurePosixPath(wanted.replace("\\", "/"))
    return q == w or (len(w.parts) == 1 and q.name == w.name)


def holds(text: str, document: str, question: DocQuestion) -> bool:
    """Whether a quote of ``text`` from ``document`` holds the question's gold answer."""
    if question.answer is None:
        return False
    if question.document and not same_document(document, question.document):
        return False
    return normalise(question.answer) in normalise(text)


def rank_of(
    quotes: Sequence[tuple[str, str]], question: DocQuestion, depth: int = DEPTH
) -> int | None:
    """1-based rank of the first ``(text, document)`` quote holding the answer, within ``depth``."""
    for rank, (text, document) in enumerate(quotes[:depth], start=1):
        if holds(text, document, question):
            return rank
    return None


def ask(service: Any, question: DocQuestion) -> Scored:
    """Ask ``service`` the question and score the quotes it shows."""
    try:
        answer = service.ask(question.question)
    except QuestionError:
        return Scored(question, answered=False, rank=None, first_chars=0)
    shown = answer.closest if answer.abstained else answer.quotes
    quotes = [(q.text, q.document) for q in shown]
    return Scored(
        question,
        answered=not answer.abstained,
        rank=rank_of(quotes, question),
        first_chars=len(quotes[0][0]) if quotes else 0,
        documents=tuple(d for _, d in quotes[:DEPTH]),
    )


def figures(scored: Sequence[Scored]) -> dict[str, Any]:
    """hit@1, hit@3, answered share, unanswerable answered and median first quote of ``scored``."""
    answerable = [s for s in scored if s.question.answer is not None]
    unanswerable = [s for s in scored if s.question.answer is None]
    firsts = [s.first_chars for s in scored if s.first_chars]
    n, m = max(1, len(answerable)), max(1, len(unanswerable))
    return {
        "questions": len(answerable),
        "hit@1": sum(s.rank == 1 for s in answerable) / n,
        "hit@3": sum(s.rank is not None for s in answerable) / n,
        "answered": sum(s.answered for s in answerable) / n,
        "unanswerable": len(unanswerable),
        "unanswerable_answered": sum(s.answered for s in unanswerable) / m,
        "median_first_quote_chars": float(statistics.median(firsts)) if firsts else 0.0,
    }


def report(scored: Sequence[Scored], split: str | None = None) -> dict[str, Any]:
    """Figures overall, per kind (when the questions have one) and per document."""
    out: dict[str, Any] = {"split": split or "all", "overall": figures(scored)}
    kinds = sorted({s.question.kind for s in scored if s.question.kind})
    if kinds:
        out["by_kind"] = {k: figures([s for s in scored if s.question.kind == k]) for k in kinds}
    documents = sorted({s.question.document for s in scored if s.question.document})
    if documents:
        out["by_document"] = {
            d: figures([s for s in scored if s.question.document == d]) for d in documents
        }
    return out


@contextmanager
def index_folder(keep: Path | None) -> Iterator[Path]:
    """``keep`` (created if needed; an index already there is reused), else a temporary folder."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="quotebot-eval-") as tmp:
        yield Path(tmp)


def evaluate_documents(
    questions_path: Path | str,
    settings: Any,
    *,
    index_dir: Path | None = None,
    split: str | None = None,
    embedder_factory: Any = None,
    notice: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], list[Scored]]:
    """Index ``settings.corpus`` and ask it every question of ``questions_path``.

    ``index_dir``: keep the index there (and reuse it next time); by default it
    is built in a temporary folder and removed. Returns the report and the
    scored questions.
    """
    from bot.app import service_for
    from index.build import build

    questions = load_questions(questions_path, split)
    if not Path(settings.corpus).is_dir():
        raise CorpusError(f"The corpus folder {settings.corpus} does not exist.")
    with index_folder(index_dir) as folder:
        local = replace(settings, index_dir=folder)
        index = build(
            local.index_spec(), warn=warn, notice=notice, embedder_factory=embedder_factory
        )
        service = service_for(index, local, embedder_factory)
        try:
            scored = [ask(service, q) for q in questions]
        finally:
            index.release()
    return report(scored, split), scored


def format_table(result: dict[str, Any]) -> str:
    """The report as a plain-text table, one row per kind and one overall."""
    rows = [*result.get("by_kind", {}).items(), ("all", result["overall"])]
    head = (
        f"{'kind':<10} {'questions':>9} {'hit@1':>6} {'hit@3':>6} {'answered':>8} "
        f"{'unans.':>6} {'wrongly answered':>16} {'median quote':>12}"
    )
    lines = [f"split: {result['split']}", head]
    for name, f in rows:
        lines.append(
            f"{name:<10} {f['questions']:>9} {f['hit@1']:>6.2f} {f['hit@3']:>6.2f} "
            f"{f['answered']:>8.0%} {f['unanswerable']:>6} {f['unanswerable_answered']:>16.0%} "
            f"{f['median_first_quote_chars']:>12.0f}"
        )
    return "\n".join(lines)
