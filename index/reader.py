"""The sentence reader: how strongly a sentence answers a question, read together.

Retrieval compares a question and a sentence from afar (one vector each, shared
words); the reader reads them as one pair through a cross-encoder fine-tuned
from the bundled MiniLM on the SQuAD tuning split (``bench/train_reader.py``).
It sees that "How did people in the room respond?" is answered by "…followed by
a standing ovation" although the two share no word, and that a sentence sharing
every word of an unanswerable question does not answer it. It is slow next to
retrieval, so the searcher asks it about the few best candidates only.

Runs on onnxruntime and tokenizers: answering never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.onnx import OnnxModel

READER_DIR = Path(__file__).with_name("reader")


class Reader:
    """Scores (question, sentence) pairs with the exported cross-encoder in ``folder``."""

    def __init__(self, folder: Path = READER_DIR) -> None:
        failure = f"Cannot load the sentence reader in {folder}"
        self.model = OnnxModel(folder, "reader.json", failure)
        self.tokenizer = self.model.tokenizer
        self.tokenizer.enable_truncation(
            max_length=int(self.model.config["max_length"]), strategy="only_second"
        )
        self.tokenizer.no_padding()

    def score(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """The logit that each sentence answers ``question`` (higher: more likely).

        Each pair is read on its own: the 8-bit model scales its activations over
        the whole input, so in a padded batch one sentence's score would depend on
        which others it was read with; alone it does not, and three short runs
        take less time than one padded batch of three on two cores.
        """
        encodings = self.tokenizer.encode_batch([(question, s) for s in sentences])
        logits = [float(np.ravel(self.model.run([e])[0])[0]) for e in encodings]
        return np.asarray(logits, dtype=np.float64)


@lru_cache(maxsize=1)
def default_reader() -> Reader | None:
    """The reader shipped in ``index/reader``, or None when this copy has none."""
    if not (READER_DIR / "model.onnx").exists():
        return None
    return Reader(READER_DIR)
