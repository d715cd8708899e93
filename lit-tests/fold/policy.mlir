// RUN: onnxqc %s --split-input-file -passes=fold | FileCheck %s

// Non-deterministic ops are never folded, nor is what reads them.
// CHECK-LABEL: func.func @fold_random_kept
// CHECK: %r = "onnx.RandomUniformLike"(%c)
// CHECK: %y = "onnx.Add"(%r, %c)
func.func @fold_random_kept() -> tensor<2xf32> {
  %c = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %r = "onnx.RandomUniformLike"(%c) : (tensor<2xf32>) -> tensor<2xf32>
  %y = "onnx.Add"(%r, %c) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %y : tensor<2xf32>
}

// -----

// Ops inside If branches fold from the outer constants (the intermediate %n goes as it dies); the If
// itself stays (it has regions).
// CHECK-LABEL: func.func @fold_in_regions
// CHECK: %c = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>}
// CHECK: "onnx.If"(%cond) ({
// CHECK-NEXT: %m = "onnx.Constant"() {value = dense<[-2.0, -4.0]> : tensor<2xf32>}
// CHECK-NEXT: "onnx.Yield"(%m)
// CHECK-NEXT: }, {
// CHECK-NEXT: %a = "onnx.Add"(%x, %c)
// CHECK-NEXT: "onnx.Yield"(%a)
func.func @fold_in_regions(%cond: tensor<i1>, %x: tensor<2xf32>) -> tensor<2xf32> {
  %c = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %0 = "onnx.If"(%cond) ({
    %n = "onnx.Neg"(%c) : (tensor<2xf32>) -> tensor<2xf32>
    %m = "onnx.Add"(%n, %n) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%m) : (tensor<2xf32>) -> ()
  }, {
    %a = "onnx.Add"(%x, %c) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%a) : (tensor<2xf32>) -> ()
  }) {else_branch = #onnx.graph<1>, then_branch = #onnx.graph<0>} : (tensor<i1>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// Absent optional inputs (onnx.NoValue) count as constants: the Clip folds with no min.
// CHECK-LABEL: func.func @fold_absent_inputs
// CHECK-NEXT: %y = "onnx.Constant"() {value = dense<[-3.0, 1.0]> : tensor<2xf32>}
// CHECK-NEXT: func.return %y
func.func @fold_absent_inputs() -> tensor<2xf32> {
  %0 = "onnx.NoValue"() : () -> none
  %c = "onnx.Constant"() {value = dense<[-3.0, 5.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %hi = "onnx.Constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %y = "onnx.Clip"(%c, %0, %hi) : (tensor<2xf32>, none, tensor<f32>) -> tensor<2xf32>
  func.return %y : tensor<2xf32>
}
