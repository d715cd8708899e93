// RUN: onnxqc %s --split-input-file -passes=shape-infer | FileCheck %s

// Conv and pools over symbolic H/W: output sizes are floor/ceil expressions, simplified
// (floor((h+2-2-1)/2)+1 = floor((h+1)/2)).
// CHECK-LABEL: func.func @shape_infer_conv_symbolic
// CHECK: %c = "onnx.Conv"{{.*}} -> tensor<?x16x?x?xf32, #onnx.dims<["n", 16, "floor((h+1)/2)", "floor((w+1)/2)"]>>
// CHECK: %v = "onnx.Conv"{{.*}} -> tensor<?x16x?x?xf32, #onnx.dims<["n", 16, "h-2", "w-2"]>>
// CHECK: %p = "onnx.MaxPool"{{.*}} -> tensor<?x16x?x?xf32, #onnx.dims<["n", 16, "ceil(floor((h+1)/2)/2)", "ceil(floor((w+1)/2)/2)"]>>
// CHECK: %s = "onnx.AveragePool"{{.*}} -> tensor<?x3x?x?xf32, #onnx.dims<["n", 3, "ceil(h/32)", "ceil(w/32)"]>>
// CHECK: %g = "onnx.GlobalAveragePool"{{.*}} -> tensor<?x16x1x1xf32, #onnx.dims<["n", 16, 1, 1]>>
func.func @shape_infer_conv_symbolic(%x: tensor<?x3x?x?xf32, #onnx.dims<["n", 3, "h", "w"]>>, %w: tensor<16x3x3x3xf32>) -> (!onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown) {
  %c = "onnx.Conv"(%x, %w) {pads = [1, 1, 1, 1], strides = [2, 2]} : (tensor<?x3x?x?xf32, #onnx.dims<["n", 3, "h", "w"]>>, tensor<16x3x3x3xf32>) -> !onnx.unknown
  %v = "onnx.Conv"(%x, %w) : (tensor<?x3x?x?xf32, #onnx.dims<["n", 3, "h", "w"]>>, tensor<16x3x3x3xf32>) -> !onnx.unknown
  %p = "onnx.MaxPool"(%c) {kernel_shape = [2, 2], strides = [2, 2], ceil_mode = 1} : (!onnx.unknown) -> !onnx.unknown
  %s = "onnx.AveragePool"(%x) {kernel_shape = [3, 3], strides = [32, 32], auto_pad = "SAME_UPPER"} : (tensor<?x3x?x?xf32, #onnx.dims<["n", 3, "h", "w"]>>) -> !onnx.unknown
  %g = "onnx.GlobalAveragePool"(%c) : (!onnx.unknown) -> !onnx.unknown
  func.return %c, %v, %p, %s, %g : !onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown
}

// -----

// ConvTranspose: stride*(h-1) + output_padding + kernel - pads.
// CHECK-LABEL: func.func @shape_infer_conv_transpose
// CHECK: "onnx.ConvTranspose"{{.*}} -> tensor<1x4x?x20xf32, #onnx.dims<[1, 4, "2*h", 20]>>
func.func @shape_infer_conv_transpose(%x: tensor<1x8x?x10xf32, #onnx.dims<[1, 8, "h", 10]>>, %w: tensor<8x4x3x3xf32>) -> !onnx.unknown {
  %0 = "onnx.ConvTranspose"(%x, %w) {strides = [2, 2], pads = [1, 1, 1, 1], output_padding = [1, 1]} : (tensor<1x8x?x10xf32, #onnx.dims<[1, 8, "h", 10]>>, tensor<8x4x3x3xf32>) -> !onnx.unknown
  func.return %0 : !onnx.unknown
}
