"""An exported transformer run through onnxruntime and tokenizers, never torch.

The embedder, the sentence reader and the phrase reader each ship a folder with
``model.onnx``, ``tokenizer.json`` and a small JSON config of their own; this
loads one such folder and feeds it tokenised text.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ModelError

THREADS = min(2, os.cpu_count() or 1)


@lru_cache(maxsize=1)
def _shared_threads() -> bool:
    """Give every model of this process one pool of threads, if onnxruntime allows it.

    Must run before the first session is made; False (a pool per model) where this
    onnxruntime has no such switch.
    """
    try:
        from onnxruntime.capi import _pybind_state

        _pybind_state.set_global_thread_pool_sizes(THREADS, 1)
    except Exception:
        return False
    return True


class OnnxModel:
    """``config``: the folder's JSON config; ``tokenizer``: its ``tokenizers.Tokenizer``."""

    def __init__(self, folder: Path, config_name: str, failure: str, hint: str = "") -> None:
        """``failure`` opens and ``hint`` closes the :class:`ModelError` raised if the
        folder won't load."""
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            self.config: dict[str, Any] = json.loads((folder / config_name).read_text())
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            options = ort.SessionOptions()
            options.log_severity_level = 3
            if _shared_threads():
                # Three models take turns on the same cores within one answer: with one
                # pool between them, its threads stay awake from one model to the next
                # (a warm answer took 16 ms instead of 21 on two cores).
                options.use_per_session_threads = False
            else:
                options.intra_op_num_threads = THREADS
                # Threads that sleep when idle: with a pool per model, one spinning
                # after its run slowed the next (a warm answer took twice as long).
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self.session = ort.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            message = f"{failure}: {type(exc).__name__}."
            raise ModelError(f"{message} {hint}" if hint else message) from exc
        self._inputs = {i.name for i in self.session.get_inputs()}

    def run(self, encodings: Sequence[Any], *, segments: bool = True) -> list[np.ndarray]:
        """The model's outputs for a batch of encodings of equal length.

        ``segments``: feed the encodings' token types (a question-and-passage pair);
        otherwise every token is of the first segment.
        """
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        feeds: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = (
                np.array([e.type_ids for e in encodings], dtype=np.int64)
                if segments
                else np.zeros_like(ids)
            )
        return list(self.session.run(None, feeds))


def fuse_bert(
    source: Path, target: Path, heads: int, hidden: int, *, embeddings: bool = True
) -> bool:
    """Write ``source`` with onnxruntime's fused BERT operators to ``target``.

    Each layer's attention, its layer norms and its GELU become one operator each,
    which runs the same model in less time on two cores. ``embeddings``: fuse the
    embedding lookups and their layer norm too. False, with nothing written, when
    the fuser finds no attention it can rewrite (another architecture).
    """
    before = set(logging.root.manager.loggerDict)
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    # The fuser's modules log every step at INFO under names of their own.
    for name in set(logging.root.manager.loggerDict) - before:
        logging.getLogger(name).setLevel(logging.WARNING)
    options = FusionOptions("bert")
    options.enable_embed_layer_norm = embeddings
    fused = optimize_model(
        str(source),
        model_type="bert",
        num_heads=heads,
        hidden_size=hidden,
        optimization_options=options,
        opt_level=0,  # the fuser's own rewrites only: no onnxruntime session is opened
    )
    if not fused.get_fused_operator_statistics().get("Attention"):
        return False
    fused.save_model_to_file(str(target))
    return True
