"""Train the sentence reader: "does this sentence answer this question?"

    python -m bench.train_reader ../shared/squad/squad_v1.1_dev.json \
        --v2 ../shared/squad/squad_v2.0_dev.json --out index/reader

A cross-encoder initialised from the bundled MiniLM (its six layers and
vocabulary; only the one-number head is new), fine-tuned on the tuning split
only: SQuAD v1.1 dev articles 0-23, and v2.0's unanswerable questions on the
titles among them. Each question is paired with the sentences that hold its
answer (positives) and with hard negatives: the other sentences of its
paragraph and the article's sentences that share the most words with it. A
share of the questions is also typed the way people chat (seeded), another
share loses about half of the words it shares with its answer's sentence (so
the score learns to follow meaning where a reader's wording differs from the
text's), and v2.0's unanswerable questions contribute only negatives, so the
score learns that sharing words is not answering.

The result is exported to ONNX and quantised to 8-bit integers
(``model.onnx``, ``tokenizer.json``, ``reader.json``): the bot scores a
handful of candidates per question with onnxruntime, never torch.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path
from typing import Any

from index.embedder import BUNDLED_MODEL, resolve_model
from index.passages import sentence_spans
from index.query import search_text
from index.text import stems
from quality import finetune
from quality.squad import article_arg, chat_noise, load_squad, load_squad_v2, squad_arg

MAX_LENGTH = 128
NOISE_SEED = 2  # tuning uses 1 and the evaluation 0
CHAT_TYPED = 0.3  # share of questions typed the way people chat
SHARED_DROPPED = 0.3  # share of questions that lose words shared with their answer
OWN_NEGATIVES = 3  # per question: other sentences of its paragraph, at random
OTHER_NEGATIVES = 1  # per question: sentences of other paragraphs sharing most words


def _sentences(contexts: list[str]) -> list[tuple[int, str]]:
    """(paragraph, sentence) for every sentence of an article."""
    out = []
    for p, text in enumerate(contexts):
        out += [(p, text[s:e]) for s, e in sentence_spans(text)]
    return out


def _closest(question: str, sentences: list[tuple[int, str]], skip: int, n: int) -> list[str]:
    """The ``n`` sentences outside paragraph ``skip`` sharing the most question stems."""
    q = set(stems(question))
    scored = [(len(q & set(stems(s))), s) for p, s in sentences if p != skip]
    scored.sort(key=lambda x: -x[0])
    return [s for score, s in scored[:n] if score > 0]


def without_shared_words(question: str, answer: str, rng: random.Random) -> str:
    """``question`` with about half of the content words it shares with ``answer`` left out.

    SQuAD questions copy their paragraph's words; readers who have not seen the
    text do not. At least one content word stays, so the question keeps a topic.
    """
    shared = set(stems(answer))
    tokens = question.split(" ")
    token_stems = [stems(t) for t in tokens]
    droppable = [i for i, st in enumerate(token_stems) if len(st) == 1 and st[0] in shared]
    content = sum(1 for st in token_stems if st)
    dropped = {i for i in droppable if rng.random() < 0.5}
    if not dropped or len(dropped) >= content:
        return question
    return " ".join(t for i, t in enumerate(tokens) if i not in dropped)


def pairs(squad: Path, v2: Path | None, articles: tuple[int, int], seed: int) -> list[Any]:
    """(question, sentence, label) for the tuning split, shuffled."""
    rng = random.Random(seed)
    noise = random.Random(NOISE_SEED)
    chosen = load_squad(squad)[articles[0] : articles[1]]
    unanswerable = load_squad_v2(v2) if v2 else {}
    out: list[tuple[str, str, float]] = []
    for article in chosen:
        sentences = _sentences(article.contexts)
        for q in article.questions:
            own = [s for p, s in sentences if p == q.paragraph]
            positive = [s for s in own if any(a in s for a in q.answers)]
            roll = rng.random()
            asked = q.question
            if roll < CHAT_TYPED:
                asked = chat_noise(q.question, noise)
            elif roll < CHAT_TYPED + SHARED_DROPPED and positive:
                asked = without_shared_words(q.question, positive[0], rng)
            text = search_text(asked)
            negative = [s for s in own if s not in positive]
            out += [(text, s, 1.0) for s in positive]
            out += [(text, s, 0.0) for s in rng.sample(negative, min(OWN_NEGATIVES, len(negative)))]
            for s in _closest(q.question, sentences, q.paragraph, OTHER_NEGATIVES):
                out.append((text, s, float(any(a in s for a in q.answers))))
        for question in unanswerable.get(article.title, (None, []))[1]:
            for s in _closest(question, sentences, -1, 2):
                out.append((search_text(question), s, 0.0))
    rng.shuffle(out)
    return out


def train(
    data: list[tuple[str, str, float]], model_name: str, epochs: float, batch: int, lr: float
) -> Any:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    finetune.seed()
    path = resolve_model(model_name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    steps = finetune.Steps(model, int(math.ceil(len(data) * epochs / batch)), lr, frozen=2)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    batches = _batches(data, batch, tokenizer)
    model.train()
    for step in range(steps.steps):
        chunk = batches[step % len(batches)]
        enc = finetune.encode_pairs(tokenizer, chunk, MAX_LENGTH)
        labels = torch.tensor([c[2] for c in chunk])
        steps.take(step, loss_fn(model(**enc).logits.squeeze(-1), labels))
    model.eval()
    return tokenizer, model


def _batches(data: list[tuple[str, str, float]], size: int, tokenizer: Any) -> list[Any]:
    """Batches of pairs of similar length (less padding), in random order."""
    rng = random.Random(0)
    lengths = [len(tokenizer(q, s)["input_ids"]) for q, s, _ in data]
    out = []
    span = size * 50
    for at in range(0, len(data), span):
        block = sorted(range(at, min(at + span, len(data))), key=lambda i: lengths[i])
        out += [[data[i] for i in block[j : j + size]] for j in range(0, len(block), size)]
    rng.shuffle(out)
    return out


def export(tokenizer: Any, model: Any, out: Path) -> None:
    """``model.onnx`` (8-bit weights), ``tokenizer.json`` and ``reader.json`` in ``out``."""
    finetune.export(tokenizer, model, out, {"logits": {0: "batch"}})
    (out / "reader.json").write_text(json.dumps({"max_length": MAX_LENGTH}, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("squad", type=squad_arg, help="SQuAD v1.1 dev file")
    parser.add_argument("--v2", type=squad_arg, help="SQuAD v2.0 dev file (unanswerable questions)")
    parser.add_argument(
        "--articles", default="0:24", type=article_arg, help="tuning articles (default 0:24)"
    )
    parser.add_argument("--out", type=Path, default=Path("index/reader"))
    parser.add_argument("--model", default=BUNDLED_MODEL)
    parser.add_argument("--epochs", type=float, default=1.5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    a, b = args.articles
    if b > 24:
        parser.error("train only on the tuning split (articles 0-23)")
    data = pairs(args.squad, args.v2, (a, b), args.seed)
    positives = sum(1 for d in data if d[2])
    print(f"{len(data)} pairs, {positives} positive")
    tokenizer, model = train(data, args.model, args.epochs, args.batch, args.lr)
    export(tokenizer, model, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
