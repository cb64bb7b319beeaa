"""Rewrite a shipped 8-bit model with onnxruntime's fused BERT operators.

    python -m quality.fuse index/reader index/phrase

The sentence and phrase readers were exported unfused: each layer's attention
was a dozen small operators around four 8-bit matrix products. Fused, a layer's
attention is one ``QAttention`` and its layer norms and GELU one operator each,
which reads a question–sentence pair in less time on two cores. The weights the
training left are kept: the 8-bit graph is turned back into a float graph with
exactly the values the 8-bit weights stand for, fused, and quantised again the
way ``quality/finetune.py`` quantises (which now fuses too, so a model trained
again comes out fused). The query, key and value thirds of each fused weight
keep a scale of their own, so scores move only by float rounding (about 0.02 of
a logit on the shipped reader).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

# Read from the graph by the fuser, so any BERT-shaped model fuses.
HEADS = 0
HIDDEN = 0


def dequantized(model: Any) -> Any:
    """The float graph that ``onnxruntime.quantization.quantize_dynamic`` started from.

    Each ``DynamicQuantizeLinear → MatMulInteger → Cast → Mul`` becomes a ``MatMul``
    by the float weight ``(q - zero_point) · scale``; each quantised embedding
    ``Gather → DequantizeLinear`` a ``Gather`` of the float table.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list[Any]] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def value(name: str) -> Any:
        if name in inits:
            return numpy_helper.to_array(inits[name])
        node = producer[name]  # a Constant
        return numpy_helper.to_array(node.attribute[0].t)

    def weight(q: str, scale: str, zero: str) -> Any:
        levels = value(q).astype(np.float32) - value(zero).astype(np.float32)
        return levels * value(scale).astype(np.float32)

    drop: set[int] = set()
    new_nodes: dict[int, Any] = {}
    new_inits = []
    for n in graph.node:
        if n.op_type == "MatMulInteger":
            xq, wq, _, wz = n.input
            quantize = producer[xq]
            cast = consumers[n.output[0]][0]
            mul = consumers[cast.output[0]][0]
            scales = producer[mul.input[1]]  # x_scale · w_scale
            w_scale = [s for s in scales.input if s != quantize.output[1]][0]
            name = wq.removesuffix("_quantized") + "_float"
            new_inits.append(numpy_helper.from_array(weight(wq, w_scale, wz), name))
            new_nodes[id(mul)] = helper.make_node(
                "MatMul", [quantize.input[0], name], [mul.output[0]], name=n.name + "_float"
            )
            drop.update({id(n), id(cast), id(scales)})
        elif n.op_type == "DequantizeLinear" and producer.get(n.input[0], n).op_type == "Gather":
            gather = producer[n.input[0]]
            table, indices = gather.input
            name = table.removesuffix("_quantized") + "_float"
            new_inits.append(numpy_helper.from_array(weight(table, n.input[1], n.input[2]), name))
            new_nodes[id(n)] = helper.make_node(
                "Gather", [name, indices], [n.output[0]], name=gather.name + "_float"
            )
            drop.add(id(gather))
    nodes = [new_nodes.get(id(n), n) for n in graph.node if id(n) not in drop]
    # Quantisers whose every product is gone.
    used = {i for n in nodes for i in n.input} | {o.name for o in graph.output}
    nodes = [
        n for n in nodes if n.op_type != "DynamicQuantizeLinear" or any(o in used for o in n.output)
    ]
    used = {i for n in nodes for i in n.input}
    initializers = [i for i in graph.initializer if i.name in used] + new_inits
    out = helper.make_graph(
        nodes, graph.name, graph.input, graph.output, initializers, value_info=[]
    )
    result = helper.make_model(out, opset_imports=model.opset_import)
    result.ir_version = model.ir_version
    onnx.checker.check_model(result)
    return result


def fuse_and_quantize(full: Path, target: Path) -> bool:
    """Write the float model in ``full`` to ``target`` fused and 8-bit; False if unfused.

    A graph whose attention the fuser does not recognise is quantised as it is.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from index.onnx import fuse_bert

    fused_path = full.with_name("fused.onnx")
    # The embedding tables stay 8-bit lookups: fused, their layer norm would be
    # quantised as well, which the unfused model does not do.
    done = fuse_bert(full, fused_path, HEADS, HIDDEN, embeddings=False)
    source = fused_path if done else full
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        # The fused operators carry no inferred types; their outputs are float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    if done:
        onnx.save(_scale_per_block(onnx.load(str(source)), onnx.load(str(target))), str(target))
    return done


def _scale_per_block(fused: Any, quantized: Any) -> Any:
    """``quantized`` with each attention's query, key and value weights on a scale of their own.

    The quantiser gives the three matrices, side by side in one fused weight, one
    scale: the largest of the three, coarser for the other two than unfused. An
    8-bit attention takes a scale per column, so each third gets its own again.
    """
    import numpy as np
    from onnx import numpy_helper

    floats = {i.name: i for i in fused.graph.initializer}
    inits = {i.name: i for i in quantized.graph.initializer}
    for node in quantized.graph.node:
        if node.op_type != "QAttention":
            continue
        weight_name, scale_name, zero_name = node.input[1], node.input[4], node.input[7]
        if numpy_helper.to_array(inits[zero_name]).any():
            continue  # not symmetric: leave the quantiser's choice
        w = numpy_helper.to_array(floats[weight_name.removesuffix("_quantized")])
        blocks = np.split(w, 3, axis=1)
        scales = np.concatenate(
            [np.full(b.shape[1], max(float(np.abs(b).max()), 1e-12) / 127.0) for b in blocks]
        ).astype(np.float32)
        q = np.clip(np.rint(w / scales), -127, 127).astype(np.int8)
        inits[weight_name].CopyFrom(numpy_helper.from_array(q, weight_name))
        inits[scale_name].CopyFrom(numpy_helper.from_array(scales, scale_name))
    return quantized


def fuse_folder(folder: Path) -> None:
    """Rewrite ``folder/model.onnx`` fused, replacing it only once the new one is whole."""
    import onnx

    source = folder / "model.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.onnx"
        onnx.save(dequantized(onnx.load(str(source))), str(full))
        partial = Path(tmp) / "model.onnx"
        if not fuse_and_quantize(full, partial):
            raise SystemExit(f"{source}: no attention the fuser could rewrite; left as it was")
        # A name of this process's own: two runs at once never write one file.
        staged = source.with_name(f".model.onnx.{os.getpid()}.partial")
        shutil.copy(partial, staged)
        os.replace(staged, source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    for folder in parser.parse_args().folders:
        if not (folder / "model.onnx").is_file():
            raise SystemExit(f"{folder}: no model.onnx to fuse")
        try:
            fuse_folder(folder)
        except Exception as exc:  # unreadable, corrupt, or not an 8-bit graph of ours
            raise SystemExit(
                f"{folder}/model.onnx: cannot fuse ({type(exc).__name__}); left as it was"
            ) from None
        print(f"{folder}/model.onnx fused")


if __name__ == "__main__":
    main()
