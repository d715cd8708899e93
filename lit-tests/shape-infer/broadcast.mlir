// RUN: onnxqc %s --split-input-file -passes=shape-infer | FileCheck %s

// Numpy broadcasting over symbols: equal symbols stay, 1 broadcasts, a known dim > 1 beats a symbol
// (which must be 1 or equal to it), and an unknown input dim becomes a fresh symbol.
// CHECK-LABEL: func.func @shape_infer_broadcast
// CHECK: "onnx.Add"{{.*}} -> tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>
// CHECK: "onnx.Mul"{{.*}} -> tensor<?x?x?x768xf32, #onnx.dims<["batch", "batch", "seq", 768]>>
// CHECK: "onnx.Sub"{{.*}} -> tensor<?x768xf32, #onnx.dims<["unk__0", 768]>>
func.func @shape_infer_broadcast(%x: tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>, %b: tensor<768xf32>, %m: tensor<?x1x1x?xf32, #onnx.dims<["batch", 1, 1, "seq"]>>, %u: tensor<?x1xf32>) -> (!onnx.unknown, !onnx.unknown, !onnx.unknown) {
  %0 = "onnx.Add"(%x, %b) : (tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>, tensor<768xf32>) -> !onnx.unknown
  %1 = "onnx.Mul"(%m, %x) : (tensor<?x1x1x?xf32, #onnx.dims<["batch", 1, 1, "seq"]>>, tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>) -> !onnx.unknown
  %2 = "onnx.Sub"(%u, %b) : (tensor<?x1xf32>, tensor<768xf32>) -> !onnx.unknown
  func.return %0, %1, %2 : !onnx.unknown, !onnx.unknown, !onnx.unknown
}
