"""The phrase reader: which words of a quote answer the question.

An extractive reading-comprehension model fine-tuned from the bundled MiniLM on
the SQuAD tuning split (``bench/train_phrase.py``): for each token of the
quote, how likely the answer starts there and how likely it ends there, with
the first token standing for "no phrase here". The best span's probability is
the share of the mass on spans that agree with it. :class:`index.highlight.Highlighter`
marks it only when :class:`MarkOdds` (that probability, the answer's confidence
and whether the linear phrase model picks the same words) pass the threshold
the training script chose on held-out articles for precision.

Runs on onnxruntime and tokenizers: answering never imports torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ModelError
from index.onnx import OnnxModel

PHRASE_DIR = Path(__file__).with_name("phrase")
MAX_ANSWER_TOKENS = 16


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max()
    return shifted - np.log(np.exp(shifted).sum())


def best_span(
    start_logits: np.ndarray, end_logits: np.ndarray, allowed: np.ndarray
) -> tuple[int, int, float] | None:
    """The most probable span ``(first, last, probability)`` over ``allowed`` tokens.

    ``probability`` is the share of the model's mass, over every span and the
    "no phrase" token, on spans that agree with the chosen one (token F1 of at
    least one half, SQuAD's bar for a right phrase): "$425,000" and "roughly
    $425,000" are one answer, not rivals. A quote without the answer leaves most
    of the mass on "no phrase" and the probability low.
    """
    positions = np.flatnonzero(allowed)
    if not len(positions):
        return None
    ls, le = _log_softmax(start_logits), _log_softmax(end_logits)
    first = positions[:, None]
    last = positions[None, :]
    valid = (last >= first) & (last - first < MAX_ANSWER_TOKENS)
    mass = np.where(valid, np.exp(ls[first] + le[last]), 0.0)
    i, j = np.unravel_index(int(np.argmax(mass)), mass.shape)
    overlap = np.clip(np.minimum(last, positions[j]) - np.maximum(first, positions[i]) + 1, 0, None)
    length = (last - first + 1).astype(np.float64)
    chosen = float(positions[j] - positions[i] + 1)
    f1 = np.where(overlap > 0, 2 * overlap / np.maximum(length + chosen, 1.0), 0.0)
    total = float(mass.sum() + np.exp(ls[0] + le[0]))
    agree = float(mass[f1 >= 0.5].sum())
    return int(positions[i]), int(positions[j]), agree / total if total > 0 else 0.0


def log_odds(p: float) -> float:
    """``log(p / (1 - p))``: minus infinity at 0, infinity at 1."""
    if p <= 0:
        return -math.inf
    return math.log(p / (1 - p)) if p < 1 else math.inf


def _logit(p: float) -> float:
    # Bounded, so a probability of 1 cannot outvote the other signals.
    return log_odds(min(max(p, 0.01), 0.99))


@dataclass(frozen=True)
class MarkOdds:
    """How likely a phrase the reader picked is right, as a logistic on three signals.

    The reader's own probability, the answer's confidence (a phrase in a quote
    that is probably wrong is probably wrong too), and whether the linear phrase
    model of :mod:`index.highlight`, which reads the words around a phrase rather
    than its meaning, picks the same words: two models agreeing are right more
    often than either's probability says. Fitted on held-out tuning articles by
    ``bench/train_phrase.py``.
    """

    phrase: float
    confidence: float
    agree: float
    bias: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarkOdds:
        return cls(*(float(data[k]) for k in ("phrase", "confidence", "agree", "bias")))

    def to_dict(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 6) for k in ("phrase", "confidence", "agree", "bias")}

    def logit(self, phrase: float, confidence: float, agree: bool) -> float:
        """The log-odds that the phrase is right."""
        return (
            self.phrase * _logit(phrase)
            + self.confidence * _logit(confidence)
            + self.agree * agree
            + self.bias
        )

    def probability(self, phrase: float, confidence: float, agree: bool) -> float:
        """The chance that the phrase is right."""
        return 1 / (1 + math.exp(-self.logit(phrase, confidence, agree)))

    def best_logit(self, confidence: float) -> float:
        """The highest log-odds any phrase can reach in a quote of this ``confidence``."""
        return self.logit(0.99, confidence, self.agree > 0)

    @staticmethod
    def features(phrase: float, confidence: float, agree: bool) -> list[float]:
        """The inputs :meth:`logit` weighs, for fitting."""
        return [_logit(phrase), _logit(confidence), float(agree)]


class PhraseReader:
    """Reads a question and a quote with the exported model in ``folder``."""

    def __init__(self, folder: Path = PHRASE_DIR) -> None:
        failure = f"Cannot load the phrase reader in {folder}"
        self.model = OnnxModel(folder, "phrase.json", failure)
        config = self.model.config
        try:
            # The probability a phrase needs to be marked (chosen on held-out articles).
            self.threshold = float(config.get("threshold", 1.0))
            # None until bench/train_phrase.py has fitted them: the reader then marks nothing.
            self.odds = MarkOdds.from_dict(config["odds"]) if config.get("odds") else None
            max_length = int(config["max_length"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"{failure}: phrase.json is malformed ({type(exc).__name__})."
            ) from exc
        self.tokenizer = self.model.tokenizer
        self.tokenizer.enable_truncation(max_length=max_length, strategy="only_second")
        self.tokenizer.no_padding()

    def read(self, question: str, text: str) -> tuple[int, int, float] | None:
        """``(start, end, probability)``: character offsets in ``text`` of the best phrase."""
        if not question.strip() or not text.strip():
            return None
        encoding = self.tokenizer.encode(question, text)
        start_logits, end_logits = self.model.run([encoding])
        offsets = encoding.offsets
        allowed = np.array(
            [
                seq == 1 and offsets[i][1] > offsets[i][0]
                for i, seq in enumerate(encoding.sequence_ids)
            ]
        )
        found = best_span(
            np.asarray(start_logits[0], dtype=np.float64),
            np.asarray(end_logits[0], dtype=np.float64),
            allowed,
        )
        if found is None:
            return None
        first, last, probability = found
        return offsets[first][0], offsets[last][1], probability


@lru_cache(maxsize=1)
def default_phrase_reader() -> PhraseReader | None:
    """The phrase reader shipped in ``index/phrase``, or None when this copy has none."""
    if not (PHRASE_DIR / "model.onnx").exists():
        return None
    return PhraseReader(PHRASE_DIR)
