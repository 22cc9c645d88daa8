"""A small builder of ONNX graphs: nodes, constants and unique names, and the finished model.

The converters here emit double-precision nodes one by one; this keeps their code to the
arithmetic (onnx.helper's protobuf plumbing is written once, below).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 21  # the ONNX operator set; onnxruntime 1.32 runs up to 23
ML_OPSET = 5  # ai.onnx.ml: TreeEnsemble, with double thresholds and leaf weights, arrived in 5
IR_VERSION = 10
DOUBLE, STRING, BOOL = TensorProto.DOUBLE, TensorProto.STRING, TensorProto.BOOL


class NotCompilable(Exception):
    """Why a pipeline cannot be compiled: one line, naming the step."""


class Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.opsets: dict[str, int] = {"": OPSET}
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def input(self, name: str, element_type: int, columns: int) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, element_type, [None, columns]))
        return name

    def constant(self, values, hint: str = "constant") -> str:
        array = np.asarray(values)
        if array.dtype.kind in "fc":
            array = array.astype(np.float64)
        elif array.dtype.kind in "USO":
            array = array.astype(object)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, *inputs: str, domain: str = "", **attributes) -> str:
        output = self.name(op.lower())
        self.nodes.append(helper.make_node(op, list(inputs), [output], name=output, domain=domain, **attributes))
        return output

    def columns(self, matrix: str, positions) -> str:
        """The columns at `positions` (a list of ints) of a [rows, columns] tensor."""
        return self.node("Gather", matrix, self.constant(np.asarray(positions, dtype=np.int64), "positions"), axis=1)

    def concat(self, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else self.node("Concat", *parts, axis=1)

    def include(self, model: onnx.ModelProto, features: str, prefix: str) -> list[str]:
        """Inline another model's graph (skl2onnx's), fed by `features`; its output names, prefixed."""
        model = onnx.compose.add_prefix(model, prefix)
        graph = model.graph
        self.nodes.append(helper.make_node("Identity", [features], [graph.input[0].name], name=self.name("feed")))
        self.nodes.extend(graph.node)
        self.initializers.extend(graph.initializer)
        for opset in model.opset_import:
            if opset.domain not in ("", "ai.onnx.ml"):
                raise NotCompilable(f"the converted estimator uses the operator domain {opset.domain!r}")
            self.opsets[opset.domain] = max(self.opsets.get(opset.domain, 0), opset.version)
        return [output.name for output in graph.output]

    def model(self, output: str, columns: int, metadata: dict[str, str]) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, "tabular_mlops", self.inputs,
                                  [helper.make_tensor_value_info(output, DOUBLE, [None, columns])], self.initializers)
        opsets = [helper.make_opsetid(domain, version) for domain, version in sorted(self.opsets.items())]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="tabular_mlops")
        model.ir_version = IR_VERSION
        helper.set_model_props(model, metadata)
        onnx.checker.check_model(model)
        return model
