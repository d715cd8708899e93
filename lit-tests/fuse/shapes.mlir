// RUN: onnxqc %s --split-input-file -passes='fuse{rules=[transpose,reshape,squeeze]}' | FileCheck %s

// Transpose pairs compose; inverse pairs cancel.
// CHECK-LABEL: func.func @transpose_pairs
// CHECK: %y = "onnx.Transpose"(%x) {perm = [2, 0, 1]} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK-NEXT: %z = "onnx.Identity"(%x)
func.func @transpose_pairs(%x: tensor<2x3x4xf32>) -> (tensor<4x2x3xf32>, tensor<2x3x4xf32>) {
  %0 = "onnx.Transpose"(%x) {perm = [1, 0, 2]} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %y = "onnx.Transpose"(%0) {perm = [2, 1, 0]} : (tensor<3x2x4xf32>) -> tensor<4x2x3xf32> loc("t2")
  %1 = "onnx.Transpose"(%x) {perm = [2, 0, 1]} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %z = "onnx.Transpose"(%1) {perm = [1, 2, 0]} : (tensor<4x2x3xf32>) -> tensor<2x3x4xf32>
  func.return %y, %z : tensor<4x2x3xf32>, tensor<2x3x4xf32>
}

// -----

// Reshape of a Reshape keeps the outer shape; a Reshape to the input's own static shape disappears; an
// outer shape with 0 (copy a dim of the *inner* result) is not folded.
// CHECK-LABEL: func.func @reshape_pairs
// CHECK-DAG: %y = "onnx.Reshape"(%x, %s2)
// CHECK-DAG: %[[R:.*]] = "onnx.Reshape"(%x, %s1)
// CHECK-DAG: %w = "onnx.Reshape"(%[[R]], %s0)
// CHECK-DAG: %z = "onnx.Identity"(%x)
// CHECK: func.return %y, %z, %w
func.func @reshape_pairs(%x: tensor<2x3x4xf32>) -> (tensor<24xf32>, tensor<2x3x4xf32>, tensor<6x2x2xf32>) {
  %s1 = "onnx.Constant"() {value = dense<[6, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %s2 = "onnx.Constant"() {value = dense<[-1]> : tensor<1xi64>} : () -> tensor<1xi64>
  %s3 = "onnx.Constant"() {value = dense<[2, 3, 4]> : tensor<3xi64>} : () -> tensor<3xi64>
  %s0 = "onnx.Constant"() {value = dense<[0, 2, 2]> : tensor<3xi64>} : () -> tensor<3xi64>
  %0 = "onnx.Reshape"(%x, %s1) : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  %y = "onnx.Reshape"(%0, %s2) : (tensor<6x4xf32>, tensor<1xi64>) -> tensor<24xf32>
  %z = "onnx.Reshape"(%x, %s3) : (tensor<2x3x4xf32>, tensor<3xi64>) -> tensor<2x3x4xf32>
  %w = "onnx.Reshape"(%0, %s0) : (tensor<6x4xf32>, tensor<3xi64>) -> tensor<6x2x2xf32>
  func.return %y, %z, %w : tensor<24xf32>, tensor<2x3x4xf32>, tensor<6x2x2xf32>
}

// -----

// Unsqueeze then Squeeze of the same axes (input or attribute, negative axes normalised) cancels; a
// Squeeze of other axes does not.
// CHECK-LABEL: func.func @squeeze_pairs
// CHECK-DAG: "onnx.Squeeze"(%{{.*}}, %b)
// CHECK-DAG: %y = "onnx.Identity"(%x)
// CHECK-DAG: %[[I:.*]] = "onnx.Identity"(%x)
// CHECK: func.return %y, %[[I]], %w
func.func @squeeze_pairs(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<1x2x3x4xf32>) {
  %a = "onnx.Constant"() {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
  %an = "onnx.Constant"() {value = dense<[-4]> : tensor<1xi64>} : () -> tensor<1xi64>
  %b = "onnx.Constant"() {value = dense<[4]> : tensor<1xi64>} : () -> tensor<1xi64>
  %c = "onnx.Constant"() {value = dense<[0, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %0 = "onnx.Unsqueeze"(%x, %a) : (tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<1x2x3x4xf32>
  %y = "onnx.Squeeze"(%0, %an) : (tensor<1x2x3x4xf32>, tensor<1xi64>) -> tensor<2x3x4xf32>
  %1 = "onnx.Squeeze"(%0, %a) : (tensor<1x2x3x4xf32>, tensor<1xi64>) -> tensor<2x3x4xf32>
  %z = "onnx.Unsqueeze"(%1, %a) : (tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<1x2x3x4xf32>
  %2 = "onnx.Unsqueeze"(%x, %c) : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<1x2x3x4x1xf32>
  %w = "onnx.Squeeze"(%2, %b) : (tensor<1x2x3x4x1xf32>, tensor<1xi64>) -> tensor<1x2x3x4xf32>
  func.return %y, %1, %w : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<1x2x3x4xf32>
}
