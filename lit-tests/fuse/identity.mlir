// RUN: onnxqc %s --split-input-file -passes='fuse{rules=identity}' | FileCheck %s

// Identity, inference Dropout and Cast to the same type go; an output that would become an input keeps
// an Identity (and its name).
// CHECK-LABEL: func.func @identity
// CHECK: %y = "onnx.Relu"(%x)
// CHECK-NEXT: %z = "onnx.Identity"(%x)
// CHECK-NEXT: %c = "onnx.Cast"(%y) {to = 10}
// CHECK-NEXT: func.return %y, %z, %c
func.func @identity(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf16>) {
  %f = "onnx.Constant"() {value = dense<false> : tensor<i1>} : () -> tensor<i1>
  %0 = "onnx.Identity"(%x) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %1 = "onnx.Dropout"(%0) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %2 = "onnx.Relu"(%1) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %3 = "onnx.Cast"(%2) {to = 1} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %y, %mask = "onnx.Dropout"(%3, %f, %f) : (tensor<2x3x4xf32>, tensor<i1>, tensor<i1>) -> (tensor<2x3x4xf32>, tensor<2x3x4xi1>)
  %z = "onnx.Identity"(%x) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %c = "onnx.Cast"(%y) {to = 10} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf16>
  func.return %y, %z, %c : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf16>
}

// -----

// Dropout in training mode, or whose mask is read, stays.
// CHECK-LABEL: func.func @identity_illegal
// CHECK-COUNT-2: "onnx.Dropout"
func.func @identity_illegal(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xi1>) {
  %t = "onnx.Constant"() {value = dense<true> : tensor<i1>} : () -> tensor<i1>
  %y, %m = "onnx.Dropout"(%x, %t, %t) : (tensor<2x3x4xf32>, tensor<i1>, tensor<i1>) -> (tensor<2x3x4xf32>, tensor<2x3x4xi1>)
  %z, %mask = "onnx.Dropout"(%x) : (tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xi1>)
  func.return %y, %z, %mask : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xi1>
}
