"""Writes the small ONNX model that lit-tests/onnx/import.test imports: an unsorted node list, an If whose
branches read an outer value, an omitted optional input, a symbolic batch dim, a Constant node and an
initializer large enough to print as a dense_resource."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])
cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 64])
then_g = helper.make_graph([helper.make_node("Relu", ["scaled"], ["t"], name="then_relu")], "then_g", [],
                           [helper.make_tensor_value_info("t", TensorProto.FLOAT, ["batch", 64])])
else_g = helper.make_graph([helper.make_node("Neg", ["scaled"], ["e"], name="else_neg")], "else_g", [],
                           [helper.make_tensor_value_info("e", TensorProto.FLOAT, ["batch", 64])])
nodes = [
    helper.make_node("Clip", ["branch", "", "max"], ["y"], name="clip"),
    helper.make_node("If", ["cond"], ["branch"], name="the_if", then_branch=then_g, else_branch=else_g),
    helper.make_node("Mul", ["x", "w"], ["scaled"], name="scale"),
    helper.make_node("Constant", [], ["max"], name="max_const", value_float=6.0),
]
w = numpy_helper.from_array((np.arange(2048, dtype=np.float32) / 7).reshape(32, 64)[0], "w")
big = numpy_helper.from_array(np.arange(2048, dtype=np.float32) / 7, "unused_big")
graph = helper.make_graph(nodes, "lit_model", [x, cond], [y], [w, big])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lit")
onnx.save(model, sys.argv[1])
