// RUN: onnxqc %s --split-input-file -passes='fuse{rules=gelu}' | FileCheck %s

// PyTorch's erf form: ((erf(x / 1.4142) + 1) * x) * 0.5, at opset 23 → onnx.Gelu.
// CHECK-LABEL: func.func @gelu_erf
// CHECK: %y = "onnx.Gelu"(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-NOT: "onnx.Erf"
func.func @gelu_erf(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %c = "onnx.Constant"() {value = dense<1.4142135> : tensor<f32>} : () -> tensor<f32>
  %one = "onnx.Constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %half = "onnx.Constant"() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %0 = "onnx.Div"(%x, %c) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %1 = "onnx.Erf"(%0) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %2 = "onnx.Add"(%1, %one) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %3 = "onnx.Mul"(%x, %2) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = "onnx.Mul"(%3, %half) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// -----

// Tanh form, 0.5 * x first, x^3 as Pow: at opset 17 → com.microsoft.FastGelu (and the domain import).
// CHECK: module attributes {onnx.opset_import = {ai.onnx = 17, com.microsoft = 1}}
// CHECK-LABEL: func.func @gelu_tanh
// CHECK: %y = "com.microsoft.FastGelu"(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
module attributes {onnx.opset_import = {ai.onnx = 17}} {
  func.func @gelu_tanh(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %three = "onnx.Constant"() {value = dense<3.0> : tensor<f32>} : () -> tensor<f32>
    %k = "onnx.Constant"() {value = dense<0.044715> : tensor<f32>} : () -> tensor<f32>
    %s = "onnx.Constant"() {value = dense<0.7978846> : tensor<f32>} : () -> tensor<f32>
    %one = "onnx.Constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
    %half = "onnx.Constant"() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
    %0 = "onnx.Pow"(%x, %three) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
    %1 = "onnx.Mul"(%k, %0) : (tensor<f32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %2 = "onnx.Add"(%x, %1) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %3 = "onnx.Mul"(%2, %s) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
    %4 = "onnx.Tanh"(%3) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    %5 = "onnx.Add"(%one, %4) : (tensor<f32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %6 = "onnx.Mul"(%half, %x) : (tensor<f32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %y = "onnx.Mul"(%6, %5) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    func.return %y : tensor<2x4xf32>
  }
}

// -----

// Wrong constant (0.6 instead of 0.5), or erf of another value: left alone.
// CHECK-LABEL: func.func @gelu_illegal
// CHECK-NOT: Gelu
func.func @gelu_illegal(%x: tensor<2x4xf32>, %z: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %c = "onnx.Constant"() {value = dense<1.4142135> : tensor<f32>} : () -> tensor<f32>
  %one = "onnx.Constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %h = "onnx.Constant"() {value = dense<0.6> : tensor<f32>} : () -> tensor<f32>
  %half = "onnx.Constant"() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %0 = "onnx.Div"(%x, %c) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %1 = "onnx.Erf"(%0) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %2 = "onnx.Add"(%1, %one) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %3 = "onnx.Mul"(%x, %2) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = "onnx.Mul"(%3, %h) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %4 = "onnx.Mul"(%z, %2) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %y2 = "onnx.Mul"(%4, %half) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  func.return %y, %y2 : tensor<2x4xf32>, tensor<2x4xf32>
}
