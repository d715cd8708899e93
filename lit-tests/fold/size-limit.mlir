// RUN: onnxqc %s --split-input-file -passes='fold{size-limit=1024}' | FileCheck %s

// Size budget: Expand of a scalar to 2 KiB stays with size-limit=1024; a Transpose of a 4 KiB weight
// folds (no bigger than its input), and so does a small Expand.
// CHECK-LABEL: func.func @fold_size_limit
// CHECK: "onnx.Expand"(%one, %big)
// CHECK-NOT: "onnx.Transpose"
// CHECK-NOT: "onnx.Expand"
// CHECK: func.return
func.func @fold_size_limit() -> (tensor<16x32xf32>, tensor<32x32xf32>, tensor<4xf32>) {
  %one = "onnx.Constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %big = "onnx.Constant"() {value = dense<[16, 32]> : tensor<2xi64>} : () -> tensor<2xi64>
  %small = "onnx.Constant"() {value = dense<[4]> : tensor<1xi64>} : () -> tensor<1xi64>
  %w = "onnx.Constant"() {value = dense<0.5> : tensor<32x32xf32>} : () -> tensor<32x32xf32>
  %e = "onnx.Expand"(%one, %big) : (tensor<f32>, tensor<2xi64>) -> tensor<16x32xf32>
  %t = "onnx.Transpose"(%w) {perm = [1, 0]} : (tensor<32x32xf32>) -> tensor<32x32xf32>
  %e2 = "onnx.Expand"(%one, %small) : (tensor<f32>, tensor<1xi64>) -> tensor<4xf32>
  func.return %e, %t, %e2 : tensor<16x32xf32>, tensor<32x32xf32>, tensor<4xf32>
}

// -----

// A huge requested shape is refused before anything is allocated, even when the result type is not
// static (here 2^40 floats).
// CHECK-LABEL: func.func @fold_huge_request
// CHECK: "onnx.ConstantOfShape"(%shape)
func.func @fold_huge_request() -> tensor<?x?xf32> {
  %shape = "onnx.Constant"() {value = dense<1048576> : tensor<2xi64>} : () -> tensor<2xi64>
  %c = "onnx.ConstantOfShape"(%shape) : (tensor<2xi64>) -> tensor<?x?xf32>
  func.return %c : tensor<?x?xf32>
}
