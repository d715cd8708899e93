// RUN: onnxqc %s --split-input-file -passes='fuse{rules=swish}' | FileCheck %s

// x * sigmoid(x) (either order) at opset 23 → com.microsoft.QuickGelu with alpha 1; opset 24 → onnx.Swish.
// CHECK-LABEL: func.func @swish
// CHECK: %y = "com.microsoft.QuickGelu"(%x) {alpha = 1.0 : f32}
// CHECK: %y2 = "com.microsoft.QuickGelu"(%x) {alpha = 1.0 : f32}
func.func @swish(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %0 = "onnx.Sigmoid"(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = "onnx.Mul"(%x, %0) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %y2 = "onnx.Mul"(%0, %x) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return %y, %y2 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func.func @swish_24
// CHECK: %y = "onnx.Swish"(%x)
module attributes {onnx.opset_import = {ai.onnx = 24}} {
  func.func @swish_24(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %0 = "onnx.Sigmoid"(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    %y = "onnx.Mul"(%x, %0) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    func.return %y : tensor<2x4xf32>
  }
}

// -----

// The sigmoid of another value: not a Swish.
// CHECK-LABEL: func.func @swish_illegal
// CHECK: "onnx.Mul"
func.func @swish_illegal(%x: tensor<2x4xf32>, %z: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = "onnx.Sigmoid"(%z) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = "onnx.Mul"(%x, %0) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}
