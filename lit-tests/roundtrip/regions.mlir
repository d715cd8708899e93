// RUN: onnxqc %s | FileCheck %s

// ONNX subgraphs are regions; graph attributes point at them; inner ops see outer values.
// CHECK-LABEL: func.func @regions_if_loop
// CHECK: %[[R:.*]] = "onnx.If"(%cond) ({
// CHECK-NEXT: %t = "onnx.Add"(%x, %x)
// CHECK-NEXT: "onnx.Yield"(%t)
// CHECK-NEXT: }, {
// CHECK-NEXT: "onnx.Yield"(%x)
// CHECK-NEXT: }) {else_branch = #onnx.graph<1>, then_branch = #onnx.graph<0>}
// CHECK: "onnx.Loop"(%n, %cond, %[[R]]) ({
// CHECK-NEXT: ^bb0(%i: tensor<i64>, %c: tensor<i1>, %acc: tensor<2xf32>):
func.func @regions_if_loop(%cond: tensor<i1>, %x: tensor<2xf32>, %n: tensor<i64>) -> tensor<2xf32> {
  %0 = "onnx.If"(%cond) ({
    %t = "onnx.Add"(%x, %x) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%t) : (tensor<2xf32>) -> ()
  }, {
    "onnx.Yield"(%x) : (tensor<2xf32>) -> ()
  }) {else_branch = #onnx.graph<1>, then_branch = #onnx.graph<0>} : (tensor<i1>) -> tensor<2xf32>
  %1 = "onnx.Loop"(%n, %cond, %0) ({
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %acc: tensor<2xf32>):
    %next = "onnx.Add"(%acc, %x) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%c, %next) : (tensor<i1>, tensor<2xf32>) -> ()
  }) {body = #onnx.graph<0>} : (tensor<i64>, tensor<i1>, tensor<2xf32>) -> tensor<2xf32>
  func.return %1 : tensor<2xf32>
}
