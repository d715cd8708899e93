// RUN: onnxqc %s --split-input-file -passes='fuse{rules=matmul-gemm}' | FileCheck %s

// CHECK-LABEL: func.func @matmul_add
// CHECK: %y = "onnx.Gemm"(%x, %w, %b) : (tensor<?x3xf32, #onnx.dims<["n", 3]>>, tensor<3x2xf32>, tensor<2xf32>) -> tensor<?x2xf32, #onnx.dims<["n", 2]>> loc("mm")
// CHECK-NOT: "onnx.MatMul"
func.func @matmul_add(%x: tensor<?x3xf32, #onnx.dims<["n", 3]>>) -> tensor<?x2xf32, #onnx.dims<["n", 2]>> {
  %w = "onnx.Constant"() {value = dense<1.0> : tensor<3x2xf32>} : () -> tensor<3x2xf32>
  %b = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m = "onnx.MatMul"(%x, %w) : (tensor<?x3xf32, #onnx.dims<["n", 3]>>, tensor<3x2xf32>) -> tensor<?x2xf32, #onnx.dims<["n", 2]>> loc("mm")
  %y = "onnx.Add"(%b, %m) : (tensor<2xf32>, tensor<?x2xf32, #onnx.dims<["n", 2]>>) -> tensor<?x2xf32, #onnx.dims<["n", 2]>>
  func.return %y : tensor<?x2xf32, #onnx.dims<["n", 2]>>
}

// -----

// Rank-3 and unranked A keep the MatMul; so does a C that would broadcast the output.
// CHECK-LABEL: func.func @matmul_add_illegal
// CHECK-COUNT-3: "onnx.MatMul"
// CHECK-NOT: "onnx.Gemm"
func.func @matmul_add_illegal(%x: tensor<2x4x3xf32>, %u: tensor<*xf32>, %z: tensor<1x3xf32>) -> (tensor<2x4x2xf32>, tensor<*xf32>, tensor<5x2xf32>) {
  %w = "onnx.Constant"() {value = dense<1.0> : tensor<3x2xf32>} : () -> tensor<3x2xf32>
  %b = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %c = "onnx.Constant"() {value = dense<1.0> : tensor<5x2xf32>} : () -> tensor<5x2xf32>
  %m = "onnx.MatMul"(%x, %w) : (tensor<2x4x3xf32>, tensor<3x2xf32>) -> tensor<2x4x2xf32>
  %y = "onnx.Add"(%m, %b) : (tensor<2x4x2xf32>, tensor<2xf32>) -> tensor<2x4x2xf32>
  %m2 = "onnx.MatMul"(%u, %w) : (tensor<*xf32>, tensor<3x2xf32>) -> tensor<*xf32>
  %y2 = "onnx.Add"(%m2, %b) : (tensor<*xf32>, tensor<2xf32>) -> tensor<*xf32>
  %m3 = "onnx.MatMul"(%z, %w) : (tensor<1x3xf32>, tensor<3x2xf32>) -> tensor<1x2xf32>
  %y3 = "onnx.Add"(%m3, %c) : (tensor<1x2xf32>, tensor<5x2xf32>) -> tensor<5x2xf32>
  func.return %y, %y2, %y3 : tensor<2x4x2xf32>, tensor<*xf32>, tensor<5x2xf32>
}
