// RUN: onnxqc %s --split-input-file -passes=shape-infer | FileCheck %s

// A transformer's Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain: the shape tensor's values are
// symbolic (`batch`, `seq`), so the Reshape gets exact dims; -1 divides the element count exactly;
// ConstantOfShape reads a computed shape.
// CHECK-LABEL: func.func @shape_infer_reshape_chain
// CHECK: %s = "onnx.Shape"{{.*}} -> tensor<3xi64>
// CHECK: %shape = "onnx.Concat"{{.*}} -> tensor<4xi64>
// CHECK: %r = "onnx.Reshape"{{.*}} -> tensor<?x?x12x64xf32, #onnx.dims<["batch", "seq", 12, 64]>>
// CHECK: %t = "onnx.Transpose"{{.*}} -> tensor<?x12x?x64xf32, #onnx.dims<["batch", 12, "seq", 64]>>
// CHECK: %m = "onnx.Reshape"{{.*}} -> tensor<?x?x64xf32, #onnx.dims<["batch", "12*seq", 64]>>
// CHECK: %z = "onnx.ConstantOfShape"{{.*}} -> tensor<?xf32, #onnx.dims<["seq+1"]>>
func.func @shape_infer_reshape_chain(%x: tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>) -> (!onnx.unknown, !onnx.unknown, !onnx.unknown) {
  %s = "onnx.Shape"(%x) : (tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>) -> !onnx.unknown
  %i0 = "onnx.Constant"() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %i1 = "onnx.Constant"() {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %b = "onnx.Gather"(%s, %i0) {axis = 0} : (!onnx.unknown, tensor<i64>) -> !onnx.unknown
  %q = "onnx.Gather"(%s, %i1) {axis = 0} : (!onnx.unknown, tensor<i64>) -> !onnx.unknown
  %ax = "onnx.Constant"() {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
  %b1 = "onnx.Unsqueeze"(%b, %ax) : (!onnx.unknown, tensor<1xi64>) -> !onnx.unknown
  %q1 = "onnx.Unsqueeze"(%q, %ax) : (!onnx.unknown, tensor<1xi64>) -> !onnx.unknown
  %h = "onnx.Constant"() {value = dense<[12, 64]> : tensor<2xi64>} : () -> tensor<2xi64>
  %shape = "onnx.Concat"(%b1, %q1, %h) {axis = 0} : (!onnx.unknown, !onnx.unknown, tensor<2xi64>) -> !onnx.unknown
  %r = "onnx.Reshape"(%x, %shape) : (tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>, !onnx.unknown) -> !onnx.unknown
  %t = "onnx.Transpose"(%r) {perm = [0, 2, 1, 3]} : (!onnx.unknown) -> !onnx.unknown
  %back = "onnx.Constant"() {value = dense<[0, -1, 64]> : tensor<3xi64>} : () -> tensor<3xi64>
  %m = "onnx.Reshape"(%t, %back) : (!onnx.unknown, tensor<3xi64>) -> !onnx.unknown
  %one = "onnx.Constant"() {value = dense<[1]> : tensor<1xi64>} : () -> tensor<1xi64>
  %q2 = "onnx.Add"(%q1, %one) : (!onnx.unknown, tensor<1xi64>) -> !onnx.unknown
  %z = "onnx.ConstantOfShape"(%q2) {value = dense<[0.0]> : tensor<1xf32>} : (!onnx.unknown) -> !onnx.unknown
  func.return %t, %m, %z : !onnx.unknown, !onnx.unknown, !onnx.unknown
}
