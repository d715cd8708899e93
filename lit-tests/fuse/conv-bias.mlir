// RUN: onnxqc %s --split-input-file -passes='fuse{rules=conv-bias}' | FileCheck %s

// A [1, M, 1, 1] constant added to a Conv output becomes (part of) its bias; a scalar too.
// CHECK-LABEL: func.func @conv_bias
// CHECK: %[[B:.*]] = "onnx.Constant"() {value = dense<[3.0, 5.0]> : tensor<2xf32>}
// CHECK: %y = "onnx.Conv"(%x, %w, %[[B]])
// CHECK-NOT: "onnx.Add"
func.func @conv_bias(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = "onnx.Constant"() {value = dense<1.0> : tensor<2x2x1x1xf32>} : () -> tensor<2x2x1x1xf32>
  %b = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %a = "onnx.Constant"() {value = dense<[[[1.0]], [[2.0]]]> : tensor<2x1x1xf32>} : () -> tensor<2x1x1xf32>
  %one = "onnx.Constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %c = "onnx.Conv"(%x, %w, %b) : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %d = "onnx.Add"(%c, %a) : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = "onnx.Add"(%one, %d) : (tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}

// -----

// A [4] constant aligns with the last spatial axis, not the channels: left alone.
// CHECK-LABEL: func.func @conv_bias_illegal
// CHECK: "onnx.Add"
func.func @conv_bias_illegal(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = "onnx.Constant"() {value = dense<1.0> : tensor<2x2x1x1xf32>} : () -> tensor<2x2x1x1xf32>
  %a = "onnx.Constant"() {value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>} : () -> tensor<4xf32>
  %c = "onnx.Conv"(%x, %w) : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = "onnx.Add"(%c, %a) : (tensor<1x2x4x4xf32>, tensor<4xf32>) -> tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}
