"""Refit ``index/highlight.json``, the answer-phrase marker, on the SQuAD tuning split.

    .venv/bin/python -m bench.tune_highlight ../shared/squad/squad_v1.1_dev.json [--articles 0:20]

Articles 0-19, as for the phrase reader: ``bench/train_phrase.py`` weighs whether
this model picks the same words as the reader on articles 20-23, and that weight
is only honest where neither model has seen the questions.

No embeddings are needed: each question is shown the sentence that holds its
gold answer (as the bot's first quote usually is), and, with a smaller weight,
the sentence of its article that shares most words with it without holding
the answer (as the first quote is when retrieval gets it wrong), so the
marker learns to stay silent there. Fits in a minute or two on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from index.highlight import HIGHLIGHT_FILE
from index.passages import sentence_spans
from index.text import stems
from quality.highlight import Example, fit
from quality.squad import article_arg, squad_arg

# Share of first quotes without the answer on the tuning split (hit@1 about 0.82).
WRONG_QUOTE_WEIGHT = 0.18 / 0.82


def examples(path: Path, first: int, last: int) -> list[Example]:
    """Gold-sentence and wrong-sentence examples for the articles ``first:last`` of ``path``."""
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["data"]
    out: list[Example] = []
    for article in data[first:last]:
        sentences: list[tuple[str, frozenset[str]]] = []
        located = []
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            spans = sentence_spans(context)
            sentences += [(context[s:e], frozenset(stems(context[s:e]))) for s, e in spans]
            located.append((context, spans, paragraph["qas"]))
        for context, spans, qas in located:
            for qa in qas:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                at = qa["answers"][0]["answer_start"]
                holding = [(s, e) for s, e in spans if s <= at < e]
                if not holding:
                    continue
                s, e = holding[0]
                out.append(Example(qa["question"], context[s:e], answers))
                q = set(stems(qa["question"]))
                wrong = [
                    (len(q & words), text)
                    for text, words in sentences
                    if not any(a in text for a in answers)
                ]
                if wrong and q:
                    _, text = max(wrong, key=lambda pair: pair[0])
                    out.append(Example(qa["question"], text, (), WRONG_QUOTE_WEIGHT))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", type=squad_arg, help="squad_v1.1_dev.json")
    parser.add_argument(
        "--articles", default="0:20", type=article_arg, help="tuning articles A:B (default 0:20)"
    )
    parser.add_argument("--precision", type=float, default=0.9, help="precision of the marks")
    parser.add_argument("-o", "--output", type=Path, default=HIGHLIGHT_FILE)
    args = parser.parse_args(argv)
    first, last = args.articles

    def say(text: str) -> None:
        print(text, file=sys.stderr)

    found = examples(args.squad, first, last)
    say(f"{len(found)} examples from articles {first}:{last}")
    model, report = fit(found, precision=args.precision, progress=say)
    args.output.write_text(json.dumps(model.to_dict(), indent=1) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
