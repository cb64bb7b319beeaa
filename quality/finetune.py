"""What the sentence reader's and the phrase reader's training share.

Both fine-tune the bundled MiniLM on two cores with AdamW, a linear warm-up and
decay, the lowest layers frozen, and both ship the result as an 8-bit ONNX
model that the bot runs with onnxruntime (never torch).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def seed() -> None:
    """Same start every run (the new head's weights are drawn when the model loads)."""
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(2)


class Steps:
    """The optimiser, its schedule and the progress line, over ``steps`` batches."""

    def __init__(self, model: Any, steps: int, lr: float, frozen: int) -> None:
        import torch

        self.model = model
        self.steps = steps
        self.optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        warmup = max(1, steps // 16)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimiser,
            lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup))),
        )
        # Frozen embeddings and lowest layers keep what MiniLM learned, cost less work
        # per step on two cores and leave less to overfit on a few thousand questions.
        for part in (model.bert.embeddings, *model.bert.encoder.layer[:frozen]):
            for parameter in part.parameters():
                parameter.requires_grad = False
        self.started = time.time()
        self.running = 0.0

    def take(self, step: int, loss: Any) -> None:
        """One optimisation step on batch ``step``'s ``loss``."""
        import torch

        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimiser.step()
        self.schedule.step()
        self.optimiser.zero_grad()
        value = float(loss.detach())
        self.running = 0.98 * self.running + 0.02 * value if step else value
        if step % 100 == 0 or step == self.steps - 1:
            took = time.time() - self.started
            print(f"step {step + 1}/{self.steps} loss {self.running:.4f} {took:.0f}s")


def encode_pairs(
    tokenizer: Any, chunk: Sequence[Sequence[Any]], max_length: int, **options: Any
) -> Any:
    """A batch of (question, passage, …) rows as padded tensors, each passage cut to fit."""
    return tokenizer(
        [c[0] for c in chunk],
        [c[1] for c in chunk],
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_tensors="pt",
        **options,
    )


def export(tokenizer: Any, model: Any, out: Path, outputs: dict[str, dict[int, str]]) -> None:
    """``model.onnx`` (fused, 8-bit weights) and ``tokenizer.json`` in ``out``.

    ``outputs``: the model's outputs, in order, each with its dynamic axes.
    """
    import torch

    from quality.fuse import fuse_and_quantize

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.onnx"
        enc = tokenizer(["a question"], ["a sentence"], return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "tokens"} for n in names}
        axes.update(outputs)
        torch.onnx.export(
            model,
            (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]),
            str(full),
            input_names=names,
            output_names=list(outputs),
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
        fuse_and_quantize(full, out / "model.onnx")
        tokenizer.save_pretrained(tmp)
        shutil.copy(Path(tmp) / "tokenizer.json", out / "tokenizer.json")
