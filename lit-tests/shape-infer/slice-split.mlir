// RUN: onnxqc %s --split-input-file -passes=shape-infer | FileCheck %s

// Slice with an end past the dim and a bounded end; Split into equal parts and by num_outputs
// (ceil for all but the last).
// CHECK-LABEL: func.func @shape_infer_slice_split
// CHECK: %0 = "onnx.Slice"{{.*}} -> tensor<?x?x256xf32, #onnx.dims<["batch", "seq-1", 256]>>
// CHECK: %q, %k, %v = "onnx.Split"{{.*}} -> (tensor<?x?x256xf32, #onnx.dims<["batch", "seq", 256]>>, tensor<?x?x256xf32, #onnx.dims<["batch", "seq", 256]>>, tensor<?x?x256xf32, #onnx.dims<["batch", "seq", 256]>>)
// CHECK: %a, %b = "onnx.Split"{{.*}} -> (tensor<?x?x768xf32, #onnx.dims<["batch", "ceil(seq/2)", 768]>>, tensor<?x?x768xf32, #onnx.dims<["batch", "seq-ceil(seq/2)", 768]>>)
func.func @shape_infer_slice_split(%x: tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>) -> (!onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown) {
  %st = "onnx.Constant"() {value = dense<[1, 0]> : tensor<2xi64>} : () -> tensor<2xi64>
  %en = "onnx.Constant"() {value = dense<[9223372036854775807, 256]> : tensor<2xi64>} : () -> tensor<2xi64>
  %ax = "onnx.Constant"() {value = dense<[1, 2]> : tensor<2xi64>} : () -> tensor<2xi64>
  %0 = "onnx.Slice"(%x, %st, %en, %ax) : (tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) -> !onnx.unknown
  %q, %k, %v = "onnx.Split"(%x) {axis = 2, num_outputs = 3} : (tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>) -> (!onnx.unknown, !onnx.unknown, !onnx.unknown)
  %a, %b = "onnx.Split"(%x) {axis = 1, num_outputs = 2} : (tensor<?x?x768xf32, #onnx.dims<["batch", "seq", 768]>>) -> (!onnx.unknown, !onnx.unknown)
  func.return %0, %q, %k, %v, %a, %b : !onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown
}
