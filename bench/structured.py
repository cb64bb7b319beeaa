"""quotebot and LangChain's default chunks on the structured set, in one run.

    python -m bench.structured [--questions Q.jsonl] [--corpus DIR] [--json OUT]

quotebot: ``quality.documents`` (the corpus indexed as ``quotebot index`` does,
every question asked through the real service, as ``quotebot eval Q.jsonl``).

LangChain: each document's text, as a user loading the files gets it, cut by
``RecursiveCharacterTextSplitter(1000, 200)``, embedded by the same MiniLM into one
``FAISS`` store for the whole corpus; ``similarity_search(question, k=3)`` gives
its quotes. A chunk holds the answer when it contains the gold text (whitespace
and case collapsed) and comes from the question's document. The text per format:
``.md``/``.rst``/``.txt``/``.html`` the file as read (``TextLoader``), ``.pdf``
``PyPDFLoader`` (one document per page), ``.docx`` the paragraphs then the table
rows (cells joined by tabs) as python-docx reads them, the plain text
``Docx2txtLoader`` gives (docx2txt is not installed here). LangChain never
declines, so it answers every question, including those the corpus does not answer.

Figures are printed per kind for the ``test`` split (documents the ranking is
not fitted on) and for all questions.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.peers import CHUNK_OVERLAP, CHUNK_SIZE, langchain_embeddings
from quality.documents import (
    DEPTH,
    DocQuestion,
    Scored,
    evaluate_documents,
    load_questions,
    rank_of,
    report,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "structured"


def document_text(path: Path) -> list[str]:
    """The text LangChain gives a user loading ``path``: one string per LangChain document."""
    if path.suffix == ".pdf":
        from langchain_community.document_loaders import PyPDFLoader

        return [d.page_content for d in PyPDFLoader(str(path)).load()]
    if path.suffix == ".docx":
        import docx

        document = docx.Document(str(path))
        parts = [p.text for p in document.paragraphs]
        for table in document.tables:
            parts += ["\t".join(cell.text for cell in row.cells) for row in table.rows]
        return ["\n\n".join(parts)]
    from langchain_community.document_loaders import TextLoader

    return [d.page_content for d in TextLoader(str(path), encoding="utf-8").load()]


class LangChainCorpus:
    """LangChain's default RAG retrieval over every file of a corpus folder."""

    def __init__(self, corpus: Path, embeddings: Any = None) -> None:
        from langchain_community.vectorstores import FAISS
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.embeddings = embeddings or langchain_embeddings()
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP
        )
        documents = [
            Document(page_content=text, metadata={"source": path.relative_to(corpus).as_posix()})
            for path in sorted(p for p in corpus.rglob("*") if p.is_file())
            for text in document_text(path)
        ]
        self.chunks = splitter.split_documents(documents)
        self.store = FAISS.from_documents(self.chunks, self.embeddings)

    def ask(self, question: DocQuestion) -> Scored:
        found = self.store.similarity_search(question.question, k=DEPTH)
        quotes = [(d.page_content, d.metadata["source"]) for d in found]
        return Scored(
            question,
            answered=True,
            rank=rank_of(quotes, question),
            first_chars=len(quotes[0][0]) if quotes else 0,
            documents=tuple(s for _, s in quotes),
        )


def table(results: dict[str, dict[str, Any]]) -> str:
    """A Markdown table: per kind, then all, one row per pipeline."""
    names = list(results)
    first = results[names[0]]
    kinds = [*first.get("by_kind", {}), "all"]
    lines = [
        "| kind | pipeline | questions | hit@1 | hit@3 | answered | unanswerable "
        "| wrongly answered | median first quote |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in kinds:
        for name in names:
            r = results[name]
            f = r["overall"] if kind == "all" else r["by_kind"][kind]
            lines.append(
                f"| {kind} | {name} | {f['questions']} | {f['hit@1']:.2f} | {f['hit@3']:.2f} "
                f"| {f['answered']:.0%} | {f['unanswerable']} "
                f"| {f['unanswerable_answered']:.0%} | {f['median_first_quote_chars']:.0f} |"
            )
    return "\n".join(lines)


def by_split(scored: Sequence[Scored], split: str | None) -> dict[str, Any]:
    return report([s for s in scored if split is None or s.question.split == split], split)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=DATA / "questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from bot.config import Settings

    questions = load_questions(args.questions)
    started = time.perf_counter()
    settings = Settings.from_env(corpus=args.corpus)
    _, quotebot = evaluate_documents(args.questions, settings, warn=print)
    seconds_quotebot = time.perf_counter() - started
    started = time.perf_counter()
    langchain = LangChainCorpus(args.corpus)
    chunks = [langchain.ask(q) for q in questions]
    seconds_langchain = time.perf_counter() - started

    seconds = {"quotebot": seconds_quotebot, "langchain": seconds_langchain}
    out: dict[str, Any] = {"seconds": seconds}
    for split in ("test", None):
        results = {
            "quotebot": by_split(quotebot, split),
            "LangChain chunks": by_split(chunks, split),
        }
        out[split or "all"] = results
        print(f"\n### {'test split' if split else 'all questions (fit and test)'}\n")
        print(table(results))
    print(
        f"\nquotebot {seconds_quotebot:.0f} s (index and questions), "
        f"LangChain {seconds_langchain:.0f} s, {len(langchain.chunks)} chunks"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
