// RUN: onnxqc %s --split-input-file -passes='fuse{rules=layernorm}' | FileCheck %s

// The decomposition exporters produce (axes as an attribute, Pow 2), with gamma and beta.
// CHECK-LABEL: func.func @layernorm
// CHECK: %y = "onnx.LayerNormalization"(%x, %g, %b) {axis = 1, epsilon = 1.0e-5 : f32}
// CHECK-NOT: "onnx.ReduceMean"
func.func @layernorm(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %two = "onnx.Constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %eps = "onnx.Constant"() {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %g = "onnx.Constant"() {value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>} : () -> tensor<4xf32>
  %b = "onnx.Constant"() {value = dense<[0.5, 0.5, 0.5, 1.5]> : tensor<4xf32>} : () -> tensor<4xf32>
  %0 = "onnx.ReduceMean"(%x) {axes = [-1]} : (tensor<2x4xf32>) -> tensor<2x1xf32>
  %1 = "onnx.Sub"(%x, %0) : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %2 = "onnx.Pow"(%1, %two) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %3 = "onnx.ReduceMean"(%2) {axes = [-1]} : (tensor<2x4xf32>) -> tensor<2x1xf32>
  %4 = "onnx.Add"(%3, %eps) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %5 = "onnx.Sqrt"(%4) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %6 = "onnx.Div"(%1, %5) : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %7 = "onnx.Mul"(%6, %g) : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %y = "onnx.Add"(%b, %7) : (tensor<4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// -----

// Opset 18 form (axes as an input, Mul d d), without gamma/beta: the unit scale is a new constant.
// CHECK-LABEL: func.func @layernorm_plain
// CHECK: %[[ONE:.*]] = "onnx.Constant"() {value = dense<1.0> : tensor<4xf32>}
// CHECK: %y = "onnx.LayerNormalization"(%x, %[[ONE]]) {axis = 1, epsilon = 1.0e-5 : f32}
module attributes {onnx.opset_import = {ai.onnx = 18}} {
  func.func @layernorm_plain(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %ax = "onnx.Constant"() {value = dense<[1]> : tensor<1xi64>} : () -> tensor<1xi64>
    %eps = "onnx.Constant"() {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
    %0 = "onnx.ReduceMean"(%x, %ax) : (tensor<2x4xf32>, tensor<1xi64>) -> tensor<2x1xf32>
    %1 = "onnx.Sub"(%x, %0) : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
    %2 = "onnx.Mul"(%1, %1) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %3 = "onnx.ReduceMean"(%2, %ax) : (tensor<2x4xf32>, tensor<1xi64>) -> tensor<2x1xf32>
    %4 = "onnx.Add"(%eps, %3) : (tensor<f32>, tensor<2x1xf32>) -> tensor<2x1xf32>
    %5 = "onnx.Sqrt"(%4) : (tensor<2x1xf32>) -> tensor<2x1xf32>
    %y = "onnx.Div"(%1, %5) : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
    func.return %y : tensor<2x4xf32>
  }
}

// -----

// Not the last axes (mean over axis 0): left alone.
// CHECK-LABEL: func.func @layernorm_illegal
// CHECK-NOT: "onnx.LayerNormalization"
func.func @layernorm_illegal(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %two = "onnx.Constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %eps = "onnx.Constant"() {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %0 = "onnx.ReduceMean"(%x) {axes = [0]} : (tensor<2x4xf32>) -> tensor<1x4xf32>
  %1 = "onnx.Sub"(%x, %0) : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  %2 = "onnx.Pow"(%1, %two) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %3 = "onnx.ReduceMean"(%2) {axes = [0]} : (tensor<2x4xf32>) -> tensor<1x4xf32>
  %4 = "onnx.Add"(%3, %eps) : (tensor<1x4xf32>, tensor<f32>) -> tensor<1x4xf32>
  %5 = "onnx.Sqrt"(%4) : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %y = "onnx.Div"(%1, %5) : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// -----

// Below opset 17 (no standard LayerNormalization; onnx.checker rejects it there): left alone.
// CHECK-LABEL: func.func @layernorm_opset16
// CHECK-NOT: "onnx.LayerNormalization"
module attributes {onnx.opset_import = {ai.onnx = 16}} {
  func.func @layernorm_opset16(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %two = "onnx.Constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
    %eps = "onnx.Constant"() {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
    %0 = "onnx.ReduceMean"(%x) {axes = [-1]} : (tensor<2x4xf32>) -> tensor<2x1xf32>
    %1 = "onnx.Sub"(%x, %0) : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
    %2 = "onnx.Pow"(%1, %two) : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
    %3 = "onnx.ReduceMean"(%2) {axes = [-1]} : (tensor<2x4xf32>) -> tensor<2x1xf32>
    %4 = "onnx.Add"(%3, %eps) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
    %5 = "onnx.Sqrt"(%4) : (tensor<2x1xf32>) -> tensor<2x1xf32>
    %y = "onnx.Div"(%1, %5) : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
    func.return %y : tensor<2x4xf32>
  }
}
