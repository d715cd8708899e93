// RUN: onnxqc %s --split-input-file -passes=dce | FileCheck %s

// A chain of unused ops is removed in one run; used ops and the inputs stay.
// CHECK-LABEL: func.func @dce_chain
// CHECK-NEXT: %[[A:.*]] = "onnx.Relu"(%x)
// CHECK-NEXT: func.return %[[A]]
func.func @dce_chain(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "onnx.Relu"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %1 = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %2 = "onnx.Add"(%1, %1) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %3 = "onnx.Constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  func.return %0 : tensor<2xf32>
}

// -----

// Side-effecting ops (observers) stay even when their result is unused; so do their inputs.
// CHECK-LABEL: func.func @dce_side_effects
// CHECK: "onnx.Neg"
// CHECK: "qc.observe"
func.func @dce_side_effects(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %1 = "qc.observe"(%0) : (tensor<2xf32>) -> tensor<2xf32>
  func.return %x : tensor<2xf32>
}

// -----

// Dead ops inside regions are removed; a dead op with regions goes as a whole, with what only it used.
// CHECK-LABEL: func.func @dce_regions
// CHECK: "onnx.If"(%c) ({
// CHECK-NEXT: "onnx.Yield"(%x)
// CHECK-NOT: "onnx.Sqrt"
// CHECK-NOT: "onnx.Abs"
func.func @dce_regions(%c: tensor<i1>, %x: tensor<2xf32>) -> tensor<2xf32> {
  %a = "onnx.Abs"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %0 = "onnx.If"(%c) ({
    %dead = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%x) : (tensor<2xf32>) -> ()
  }, {
    "onnx.Yield"(%x) : (tensor<2xf32>) -> ()
  }) {else_branch = #onnx.graph<1>, then_branch = #onnx.graph<0>} : (tensor<i1>) -> tensor<2xf32>
  %1 = "onnx.If"(%c) ({
    %s = "onnx.Sqrt"(%a) : (tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%s) : (tensor<2xf32>) -> ()
  }, {
    "onnx.Yield"(%x) : (tensor<2xf32>) -> ()
  }) {else_branch = #onnx.graph<1>, then_branch = #onnx.graph<0>} : (tensor<i1>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
